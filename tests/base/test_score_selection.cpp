#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "kdprune/io/npy.h"
#include "kdprune/prune/score_selection.h"
#include "kdprune/prune/selection.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using namespace kdprune;
using kdprune::test::TempDir;
using kdprune::test::write_bytes;

namespace {
std::vector<int64_t> all(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}
}  // namespace

TEST(ScoreSelection, LevelsByHand) {
  const std::vector<double> s = {5, 1, 3, 3, 9, 0};
  EXPECT_EQ(prune::select_by_score(all(6), s, 2, "hard"), (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(prune::select_by_score(all(6), s, 2, "easy"), (std::vector<int64_t>{1, 5}));
  // ascending (score, index): 5,1,2,3,0,4; ranks [floor((6-2)/2), +2) = [2, 4) -> indices 2, 3
  EXPECT_EQ(prune::select_by_score(all(6), s, 2, "moderate"), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(prune::select_by_score(all(6), s, 3, "moderate"), (std::vector<int64_t>{1, 2, 3}));  // ranks [1, 4)
  EXPECT_EQ(prune::select_by_score({1, 3, 4}, s, 1, "hard"), (std::vector<int64_t>{4})) << "only the pool counts";
  const std::vector<double> inf = {1, INFINITY, 2, INFINITY};
  EXPECT_EQ(prune::select_by_score(all(4), inf, 2, "hard"), (std::vector<int64_t>{1, 3})) << "never-learned first";
}

TEST(ScoreSelection, TiesGoToTheLowerIndex) {
  const std::vector<double> s(5, 1.0);
  EXPECT_EQ(prune::select_by_score(all(5), s, 2, "hard"), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(prune::select_by_score(all(5), s, 2, "easy"), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(prune::select_by_score(all(5), s, 2, "moderate"), (std::vector<int64_t>{1, 2}));
}

TEST(ScoreSelection, ClassBalancedKeepsExactlyK) {
  const std::vector<int64_t> labels = {0, 0, 0, 1, 1, 1, 2};
  const std::vector<double> s = {1, 2, 3, 4, 5, 6, 0};
  EXPECT_EQ(prune::select_by_score_class_balanced(all(7), s, labels, 3, 3, "hard"), (std::vector<int64_t>{2, 5, 6}));
  // k = 1 < 3 classes: one sample in total (the lowest class gets the share), never one per class.
  EXPECT_EQ(prune::select_by_score_class_balanced(all(7), s, labels, 3, 1, "easy"), (std::vector<int64_t>{0}));
  EXPECT_EQ(prune::select_by_score_class_balanced(all(7), s, labels, 3, 2, "hard"), (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(prune::select_by_score_class_balanced(all(7), s, labels, 3, 5, "hard"), (std::vector<int64_t>{1, 2, 4, 5, 6}));
}

TEST(ScoreSelection, ProportionalSharesAsDeepCore) {
  // DeepCore (e.g. methods/forgetting.py): round(self.fraction * len(c_indx)) per class, with
  // Python's round (half to even): f = 0.5 of sizes 5, 3, 1, 4 -> round(2.5) = 2, round(1.5) = 2,
  // round(0.5) = 0, round(2.0) = 2. f = 0.1 of 25 -> round(2.5) = 2; of 35 -> round(3.5) = 4.
  EXPECT_EQ(prune::proportional_quotas({5, 3, 1, 4}, 0.5), (std::vector<int64_t>{2, 2, 0, 2}));
  EXPECT_EQ(prune::proportional_quotas({25, 35, 0}, 0.1), (std::vector<int64_t>{2, 4, 0}));
  EXPECT_EQ(prune::class_quotas({5, 3, 1, 4}, 6, 0.5, "proportional"), (std::vector<int64_t>{2, 2, 0, 2}));
  EXPECT_EQ(prune::class_quotas({5, 3, 1, 4}, 6, 0.5, "equal"), (std::vector<int64_t>{2, 2, 1, 1}));
  // Within each class, the rule applies to that class's quota.
  const std::vector<int64_t> labels = {0, 0, 0, 1, 1, 1, 2};
  const std::vector<double> s = {1, 2, 3, 4, 5, 6, 0};
  EXPECT_EQ(prune::select_by_score_class_balanced(all(7), s, labels, std::vector<int64_t>{2, 1, 0}, "hard"),
            (std::vector<int64_t>{1, 2, 5}));
  EXPECT_THROW(prune::class_quotas({1}, 1, 0.5, "bogus"), Error);
}

TEST(ScoreFiles, NpyAndCsvForms) {
  TempDir d;
  io::write_npy_f32(d.file("s.npy"), {0.5f, 2.0f, -1.0f});
  EXPECT_EQ(prune::read_scores(d.file("s.npy"), 3), (std::vector<double>{0.5, 2.0, -1.0}));
  write_bytes(d.file("ours.csv"), "index,label,score\n2,0,7.5\n0,1,1.5\n1,1,3\n");
  EXPECT_EQ(prune::read_scores(d.file("ours.csv"), 3), (std::vector<double>{1.5, 3, 7.5}));
  write_bytes(d.file("plain.csv"), "0.1\n0.2\n0.3\n");
  EXPECT_EQ(prune::read_scores(d.file("plain.csv"), 3), (std::vector<double>{0.1, 0.2, 0.3}));
}

TEST(ScoreFiles, MalformedFilesAreOneLineErrors) {
  TempDir d;
  auto error_of = [&](const std::string& name, const std::string& bytes, int64_t n) {
    write_bytes(d.file(name), bytes);
    try {
      prune::read_scores(d.file(name), n);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of("a.csv", "0.1\n0.2\n", 3).find("2 scores for a training set of 3"), std::string::npos);
  EXPECT_NE(error_of("b.csv", "index,value\n0,1\n", 1).find("no 'score' column"), std::string::npos);
  EXPECT_NE(error_of("c.csv", "score\n0.1\nabc\n", 2).find("line 3"), std::string::npos);
  EXPECT_NE(error_of("d.csv", "nan\n1\n", 2).find("NaN"), std::string::npos);
  EXPECT_NE(error_of("e.csv", "index,score\n0,1\n0,2\n", 2).find("repeated"), std::string::npos);
  EXPECT_NE(error_of("f.json", "{}", 1).find(".npy or .csv"), std::string::npos);
  EXPECT_NE(error_of("g.npy", "garbage", 1).find("bad magic"), std::string::npos);
  io::write_npy_f32(d.file("h.npy"), {1.0f, 2.0f});
  try {
    prune::read_scores(d.file("h.npy"), 5);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("2 scores for a training set of 5 samples"), std::string::npos);
  }
}
