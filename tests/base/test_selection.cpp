#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "kdprune/config/config.h"
#include "kdprune/data/train_view.h"
#include "kdprune/prune/selection.h"
#include "kdprune/util/error.h"

using namespace kdprune;

TEST(Selection, KeptCountRounds) {
  EXPECT_EQ(prune::kept_count(0.1, 60000), 6000);
  EXPECT_EQ(prune::kept_count(0.25, 10), 3);  // round half away from zero: 2.5 -> 3
  EXPECT_EQ(prune::kept_count(0.001, 10), 1);
  EXPECT_EQ(prune::kept_count(1.0, 7), 7);
}

TEST(Selection, ClassBalancedQuotasByHand) {
  EXPECT_EQ(prune::class_balanced_quotas({10, 10, 10}, 7), (std::vector<int64_t>{3, 2, 2}));
  // class 0 holds only 1: its 3 spare go to the others equally (lowest class first)
  EXPECT_EQ(prune::class_balanced_quotas({1, 10, 10, 10}, 12), (std::vector<int64_t>{1, 4, 4, 3}) );
  EXPECT_EQ(prune::class_balanced_quotas({0, 5, 2}, 6), (std::vector<int64_t>{0, 4, 2}));
  EXPECT_EQ(prune::class_balanced_quotas({2, 3}, 100), (std::vector<int64_t>{2, 3}));
}

TEST(Selection, ClassBalancedRandomIsBalancedSeededAndInPool) {
  std::vector<int64_t> labels(1000);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int64_t>(i % 7 == 0 ? 0 : 1 + i % 3);
  std::vector<int64_t> pool(1000);
  std::iota(pool.begin(), pool.end(), 0);
  auto a = prune::class_balanced_random_selection(pool, labels, 4, 200, 3);
  EXPECT_EQ(a, prune::class_balanced_random_selection(pool, labels, 4, 200, 3));
  EXPECT_NE(a, prune::class_balanced_random_selection(pool, labels, 4, 200, 4));
  ASSERT_EQ(a.size(), 200u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  std::vector<int64_t> counts(4, 0);
  for (int64_t i : a) ++counts[static_cast<size_t>(labels[static_cast<size_t>(i)])];
  EXPECT_EQ(counts, (std::vector<int64_t>{50, 50, 50, 50}));
  EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), 200u);
}

TEST(TrainView, InlinePruningInsideTheStudentPart) {
  std::vector<int64_t> labels(500);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int64_t>(i % 5);
  Config c = load_config("", {"data.split=0.6", "data.part=student", "prune.fraction=0.1", "prune.method=class_balanced_random"});
  auto v = data::select_train_view(c, labels, 5);
  EXPECT_EQ(v.pool_size, 200);
  EXPECT_EQ(v.indices.size(), 20u);
  EXPECT_DOUBLE_EQ(v.f(), 0.1);
  auto parts = data::disjoint_split(500, 0.6, c.run.seed);
  for (int64_t i : v.indices) EXPECT_TRUE(std::binary_search(parts.student.begin(), parts.student.end(), i));
  Config r = load_config("", {"prune.fraction=0.3"});
  auto rv = data::select_train_view(r, labels, 5);
  EXPECT_EQ(rv.indices.size(), 150u);
  EXPECT_EQ(rv.pool_size, 500);
  Config bad = load_config("", {"prune.fraction=0.3", "prune.method=el2n"});
  EXPECT_THROW(data::select_train_view(bad, labels, 5), Error);
}

// data.val_split: a class-stratified, seeded share of the view held out (never a class's last
// sample), drawn from the subset the run would train on, and from a stream of its own.
TEST(TrainView, ValidationSplitIsStratifiedSeededAndDisjoint) {
  std::vector<int64_t> labels(1000);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int64_t>(i % 4 == 3 ? 3 : i % 3);  // uneven classes
  Config c = load_config("", {"prune.fraction=0.2", "data.val_split=0.1"});
  const auto v = data::select_train_view(c, labels, 4);
  Config no_val = c;
  no_val.data.val_split = 0;
  const auto plain = data::select_train_view(no_val, labels, 4);
  // The validation samples come out of the subset the run would train on without them.
  std::vector<int64_t> both = v.indices;
  both.insert(both.end(), v.val.begin(), v.val.end());
  std::sort(both.begin(), both.end());
  EXPECT_EQ(both, plain.indices);
  EXPECT_EQ(v.val.size(), 20u);  // round(0.1 × 200)
  EXPECT_EQ(v.indices.size(), 180u);
  for (int64_t i : v.val) EXPECT_FALSE(std::binary_search(v.indices.begin(), v.indices.end(), i)) << i;
  EXPECT_DOUBLE_EQ(v.f(), plain.f()) << "f is the subset's share: validation is part of it";
  EXPECT_TRUE(std::is_sorted(v.val.begin(), v.val.end()));
  // Stratified: each class gives floor(0.1 n_c) or that + 1, the total round(0.1 n).
  std::vector<int64_t> n(4, 0), held(4, 0);
  for (int64_t i : plain.indices) ++n[static_cast<size_t>(labels[static_cast<size_t>(i)])];
  for (int64_t i : v.val) ++held[static_cast<size_t>(labels[static_cast<size_t>(i)])];
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_GE(held[k], static_cast<int64_t>(0.1 * static_cast<double>(n[k]))) << k;
    EXPECT_LE(held[k], static_cast<int64_t>(0.1 * static_cast<double>(n[k])) + 1) << k;
  }
  // Deterministic; another data.split_seed draws other samples; the subset itself stays.
  EXPECT_EQ(data::select_train_view(c, labels, 4).val, v.val);
  Config other = c;
  other.data.split_seed = 7;
  const auto w = data::select_train_view(other, labels, 4);
  EXPECT_NE(w.val, v.val);
  EXPECT_EQ(w.val.size(), v.val.size());
  // By hand: classes of 10, 5 and 1 samples at 0.25: floors 2, 1, 0 and round(4) = 4 in all; the
  // one left over goes to the largest remainder (class 0's 0.5; class 2's 0.25 could not give its
  // only sample anyway).
  std::vector<int64_t> y(16), view(16);
  for (int64_t i = 0; i < 16; ++i) y[static_cast<size_t>(i)] = i < 10 ? 0 : i < 15 ? 1 : 2, view[static_cast<size_t>(i)] = i;
  const auto s = data::validation_split(view, y, 3, 0.25, 0);
  std::vector<int64_t> per(3, 0);
  for (int64_t i : s.val) ++per[static_cast<size_t>(y[static_cast<size_t>(i)])];
  EXPECT_EQ(per, (std::vector<int64_t>{3, 1, 0}));
  EXPECT_EQ(s.train.size(), 12u);
}

TEST(TrainView, AValidationSplitThatHoldsOutNothingNamesTheKey) {
  std::vector<int64_t> labels(100);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int64_t>(i % 10);
  // 0.001 of 100 rounds to none.
  try {
    data::select_train_view(load_config("", {"data.val_split=0.001"}), labels, 10);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("data.val_split=0.001"), std::string::npos) << m;
    EXPECT_NE(m.find("holds out no sample"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  // A view of one sample per class: every sample is its class's last, so none can be held out.
  std::vector<int64_t> view(10);
  std::iota(view.begin(), view.end(), 0);
  EXPECT_THROW(data::validation_split(view, labels, 10, 0.5, 0), Error);
  // 0 holds out nothing, as before.
  EXPECT_TRUE(data::select_train_view(load_config("", {}), labels, 10).val.empty());
}
