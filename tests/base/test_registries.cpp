// The pruner and sampling-rule registries: what they list, lookups of unknown names, and that
// each entry's selection is the function it names.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "kdprune/config/config.h"
#include "kdprune/prune/pruner_registry.h"
#include "kdprune/prune/sampling.h"
#include "kdprune/prune/score_selection.h"
#include "kdprune/prune/scorer_list.h"
#include "kdprune/prune/selection.h"
#include "kdprune/prune/stratified.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using namespace kdprune;
using kdprune::test::error_of;

namespace {
template <class Registry> std::vector<std::string> names(const Registry& r) {
  std::vector<std::string> v;
  for (const auto& e : r) v.push_back(e.name);
  return v;
}
// 40 samples of 4 classes with distinct scores.
struct Pool {
  std::vector<int64_t> pool, labels;
  std::vector<double> scores;
  Pool() {
    for (int64_t i = 0; i < 40; ++i) {
      pool.push_back(i);
      labels.push_back(i % 4);
      scores.push_back(std::sin(static_cast<double>(i)) + 0.01 * static_cast<double>(i));
    }
  }
};
}  // namespace

TEST(SamplingRegistry, ListsTheKnownRulesAndTheirFacts) {
  EXPECT_EQ(names(prune::sampling_registry()), (std::vector<std::string>{"topk", "ccs", "beta", "d2"}));
  EXPECT_EQ(prune::sampling_names_or(), "topk, ccs, beta or d2");
  EXPECT_EQ(prune::score_free_sampling().name, "topk");
  std::set<std::string> seeded;
  for (const auto& r : prune::sampling_registry()) {
    if (r.seeded) seeded.insert(r.name);
    EXPECT_FALSE(r.description.empty()) << r.name;
    EXPECT_TRUE(r.select && r.record) << r.name;
  }
  EXPECT_EQ(seeded, (std::set<std::string>{"ccs", "beta"}));
  EXPECT_TRUE(prune::sampling_rule("d2").reads.model && prune::sampling_rule("d2").reads.cutoff);
  EXPECT_TRUE(prune::sampling_rule("ccs").reads.cutoff && !prune::sampling_rule("ccs").reads.model);
  EXPECT_TRUE(prune::sampling_rule("beta").reads.mean_prob);
  EXPECT_FALSE(prune::sampling_rule("topk").reads.scores);
  EXPECT_TRUE(prune::sampling_rule("topk").class_balanced && !prune::sampling_rule("ccs").class_balanced);
}

TEST(SamplingRegistry, UnknownRuleListsTheKnownOnes) {
  EXPECT_EQ(error_of([] { prune::sampling_rule("bogus"); }),
            "prune.sampling: unknown rule 'bogus' (expected one of: topk, ccs, beta, d2)");
}

TEST(SamplingRegistry, RulesSelectAsTheFunctionsTheyName) {
  const Pool d;
  PruneSection p;
  p.level = "easy";
  p.seed = 3;
  p.fraction = 0.25;
  const std::vector<int64_t> quota = {3, 2, 2, 3};
  prune::SamplingInputs in{.prune = p, .pool = d.pool, .labels = d.labels, .classes = 4, .k = 10, .quota = quota,
                           .scores = d.scores};
  EXPECT_EQ(prune::sampling_rule("topk").select(in), prune::select_by_score(d.pool, d.scores, 10, "easy"));
  p.class_balanced = true;
  EXPECT_EQ(prune::sampling_rule("topk").select(in),
            prune::select_by_score_class_balanced(d.pool, d.scores, d.labels, quota, "easy"));
  in.kept = std::vector<int64_t>(d.pool.begin() + 5, d.pool.end());
  EXPECT_EQ(prune::sampling_rule("ccs").select(in), prune::ccs_sample(in.kept, d.scores, 10, p.strata, 3));
  in.mean_prob.assign(40, 0.5);
  const auto beta = prune::sampling_rule("beta").select(in);
  EXPECT_EQ(beta.size(), 10u);
  EXPECT_EQ(beta, prune::sampling_rule("beta").select(in));  // seeded: the same subset again
  EXPECT_TRUE(std::is_sorted(beta.begin(), beta.end()));
}

TEST(SamplingRegistry, D2ReadsItsGraphFromTheGivenModel) {
  const Pool d;
  PruneSection p;
  p.knn = 3;
  p.d2_per_class = false;
  const std::vector<int64_t> quota = {3, 2, 2, 3};
  prune::SamplingInputs in{.prune = p, .pool = d.pool, .labels = d.labels, .classes = 4, .k = 10, .quota = quota,
                           .scores = d.scores};
  in.kept = d.pool;
  int64_t graphs = 0;
  // A stand-in for the model's embeddings: neighbours by index distance.
  in.knn = [&](const std::vector<int64_t>& nodes, int64_t k) {
    ++graphs;
    prune::KnnGraph g;
    g.n = static_cast<int64_t>(nodes.size());
    g.k = k;
    for (int64_t i = 0; i < g.n; ++i)
      for (int64_t j = 1; j <= k; ++j) {
        const int64_t nb = (i + j) % g.n;
        g.neighbors.push_back(nb);
        g.distances.push_back(static_cast<double>(std::abs(nodes[static_cast<size_t>(nb)] - nodes[static_cast<size_t>(i)])));
      }
    return g;
  };
  const auto picks = prune::sampling_rule("d2").select(in);
  EXPECT_EQ(graphs, 1);
  EXPECT_EQ(picks.size(), 10u);
  EXPECT_TRUE(std::is_sorted(picks.begin(), picks.end()));
  EXPECT_TRUE(prune::sampling_rule("d2").record(p).contains("d2"));
}

TEST(PrunerRegistry, ListsScoreFreePrunersEveryScorerAndTheLabels) {
  std::vector<std::string> expected = {"random", "class_balanced_random"};
#define KDPRUNE_TEST_NAME(name, description) expected.push_back(#name);
  KDPRUNE_SCORERS(KDPRUNE_TEST_NAME)
#undef KDPRUNE_TEST_NAME
  expected.insert(expected.end(), {"scores", "ccs", "d2"});
  EXPECT_EQ(names(prune::pruner_registry()), expected);
  // Each line of the scorer list is found by lookup, as a pruner that needs scores.
  for (size_t i = 2; i + 3 < expected.size(); ++i) {
    const prune::PrunerEntry* e = prune::find_pruner(expected[i]);
    ASSERT_NE(e, nullptr) << expected[i];
    EXPECT_TRUE(e->needs_scores && !e->label_only && !e->select) << expected[i];
  }
  EXPECT_EQ(prune::find_pruner("bogus"), nullptr);
  EXPECT_TRUE(prune::score_free("random") && prune::score_free("class_balanced_random"));
  EXPECT_FALSE(prune::score_free("el2n") || prune::score_free("scores") || prune::score_free("bogus"));
  EXPECT_EQ(prune::score_free_names(), "random and class_balanced_random");
  EXPECT_TRUE(prune::find_pruner("d2")->label_only && prune::find_pruner("scores")->label_only);
}

TEST(PrunerRegistry, ScoreFreePrunersSelectAsTheFunctionsTheyName) {
  const Pool d;
  const std::vector<int64_t> quota = {3, 2, 2, 3};
  const prune::PrunerEntry& random = *prune::find_pruner("random");
  const prune::PrunerEntry& cbr = *prune::find_pruner("class_balanced_random");
  EXPECT_EQ(random.select({.pool = d.pool, .labels = d.labels, .quota = quota, .k = 10, .seed = 5}),
            prune::random_selection(d.pool, 10, 5));
  EXPECT_EQ(random.select({.pool = d.pool, .labels = d.labels, .quota = quota, .k = 10, .seed = 5, .class_balanced = true}),
            prune::class_balanced_random_selection(d.pool, d.labels, quota, 5));
  EXPECT_EQ(cbr.select({.pool = d.pool, .labels = d.labels, .quota = quota, .k = 10, .seed = 5}),
            prune::class_balanced_random_selection(d.pool, d.labels, quota, 5));
  EXPECT_TRUE(cbr.class_balanced && !random.class_balanced);
}
