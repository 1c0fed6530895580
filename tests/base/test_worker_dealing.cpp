// The dealing of an experiment's students to workers: parsing --worker, the cost table, and the
// largest-first dealing checked against a brute-force optimum on small cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

#include "kdprune/pipeline/workers.h"
#include "kdprune/util/error.h"

using namespace kdprune::pipeline;

TEST(WorkerDealing, ParsesIOfN) {
  const auto w = parse_worker("2/4");
  EXPECT_EQ(w.index, 2);
  EXPECT_EQ(w.count, 4);
  for (const char* bad : {"4/4", "-1/4", "1/0", "1", "a/b", "1/2/3", "1/ 2", ""}) EXPECT_THROW(parse_worker(bad), kdprune::Error) << bad;
}

TEST(WorkerDealing, CostGrowsWithDataEpochsModelAndTeacher) {
  EXPECT_DOUBLE_EQ(student_cost(0.5, 10, "resnet8", ""), 0.5 * 10 * 3 * 12.5);
  EXPECT_DOUBLE_EQ(student_cost(0.5, 10, "resnet8", "resnet56"), 0.5 * 10 * (3 * 12.5 + 127.0));
  EXPECT_LT(forward_cost("resnet20"), forward_cost("resnet32"));
  EXPECT_DOUBLE_EQ(forward_cost("no-such-model"), forward_cost("resnet20"));
}

// The largest-first dealing against every assignment of a few units: its largest share is within
// the LPT bound (4/3 - 1/(3n)) of the best possible, and it is the same on every call.
TEST(WorkerDealing, LargestFirstIsNearTheBruteForceOptimum) {
  const std::vector<std::vector<double>> cases = {{5, 4, 3, 3, 3}, {7, 7, 6, 6, 5, 5, 4}, {1, 1, 1, 1, 1, 1}, {9, 1, 1, 1}, {2.5, 2.5, 2, 2, 2, 1}};
  for (const auto& costs : cases)
    for (int64_t n : {2, 3}) {
      std::vector<WorkUnit> units;
      for (double c : costs) units.push_back({{}, c});
      const auto dealt = deal_units(units, n);
      EXPECT_EQ(deal_units(units, n), dealt);
      const auto shares = worker_shares(units, dealt, n);
      const double ours = *std::max_element(shares.begin(), shares.end());
      double best = std::numeric_limits<double>::infinity();
      std::vector<int64_t> a(units.size(), 0);
      for (;;) {  // every assignment, counted in base n
        const auto s = worker_shares(units, a, n);
        best = std::min(best, *std::max_element(s.begin(), s.end()));
        size_t k = 0;
        while (k < a.size() && ++a[k] == n) a[k++] = 0;
        if (k == a.size()) break;
      }
      EXPECT_LE(ours, best * (4.0 / 3.0 - 1.0 / (3.0 * static_cast<double>(n))) + 1e-9) << n << " workers";
      double total = 0;
      for (double c : costs) total += c;
      double sum = 0;
      for (double v : shares) sum += v;
      EXPECT_DOUBLE_EQ(sum, total) << "every unit dealt once";
    }
}
