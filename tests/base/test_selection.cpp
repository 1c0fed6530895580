#include <gtest/gtest.h>

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
