// The scorer registry: every line of prune/scorer_list.h is a scorer found by lookup, unknown names
// list the known ones, and a scorer's pieces compute the function it names.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "kdprune/prune/pruner_registry.h"
#include "kdprune/prune/scorer_list.h"
#include "kdprune/scoring/scorer_registry.h"
#include "kdprune/scoring/scorers.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using namespace kdprune;
using kdprune::test::error_of;


TEST(ScorerRegistry, ListsEveryLineOfTheScorerList) {
  std::vector<std::string> listed, names;
#define KDPRUNE_TEST_NAME(name, description) listed.push_back(#name);
  KDPRUNE_SCORERS(KDPRUNE_TEST_NAME)
#undef KDPRUNE_TEST_NAME
  EXPECT_EQ(listed, (std::vector<std::string>{"forgetting", "el2n", "grand", "moderate", "dual", "aum", "memorization"}));
  for (const auto& s : scoring::scorer_registry()) names.push_back(s.name);
  EXPECT_EQ(names, listed);
  for (const auto& name : listed) {
    const scoring::Scorer& s = scoring::find_scorer(name);
    EXPECT_EQ(s.name, name);
    // kdprune info and kdprune run read the same description from the pruner registry.
    ASSERT_NE(prune::find_pruner(name), nullptr) << name;
    EXPECT_EQ(s.description, prune::find_pruner(name)->description);
    EXPECT_TRUE(s.settings) << name;
    EXPECT_EQ(s.strategy == scoring::Strategy::per_model, static_cast<bool>(s.make)) << name;
  }
}

TEST(ScorerRegistry, UnknownMethodListsTheKnownOnes) {
  EXPECT_EQ(error_of([] { scoring::find_scorer("bogus"); }),
            "score.method: unknown method 'bogus' (expected one of: forgetting, el2n, grand, moderate, dual, aum, "
            "memorization)");
}

TEST(ScorerRegistry, PerMethodFacts) {
  for (const char* name : {"forgetting", "dual", "aum", "memorization"}) EXPECT_TRUE(scoring::find_scorer(name).needs_epochs) << name;
  for (const char* name : {"el2n", "grand", "moderate"}) EXPECT_FALSE(scoring::find_scorer(name).needs_epochs) << name;
  for (const char* name : {"forgetting", "dual", "aum"}) EXPECT_FALSE(scoring::find_scorer(name).inference_pass) << name;
  EXPECT_EQ(scoring::find_scorer("memorization").strategy, scoring::Strategy::subset_models);
  EXPECT_EQ(scoring::find_scorer("dual").extra_files, std::vector<std::string>{"mean_prob"});
  ScoreSection sc;
  sc.window = 1;
  sc.epochs = 5;
  EXPECT_NE(error_of([&] { scoring::find_scorer("dual").check(sc); }).find("DUAL's windows need at least 2 epochs"),
            std::string::npos);
  EXPECT_EQ(scoring::find_scorer("grand").settings(sc), (nlohmann::json{{"scope", sc.scope}}));
  EXPECT_EQ(scoring::find_scorer("el2n").settings(sc), nlohmann::json::object());
}

TEST(ScorerRegistry, PiecesComputeTheNamedScores) {
  torch::manual_seed(0);
  const Config cfg;
  data::TensorDataset data;
  data.info.classes = 3;
  const auto logits = torch::randn({6, 3});
  const auto embedding = torch::randn({6, 4});
  const auto labels = torch::tensor({0, 1, 2, 0, 1, 2}, torch::kInt64);
  int64_t inferred = 0;
  const scoring::ScoreContext c{.config = cfg, .data = data, .device = torch::kCPU, .n = 6,
                                .pool = torch::arange(6, torch::kInt64), .labels = labels,
                                .infer = [&](models::ModelImpl&) {
                                  ++inferred;
                                  return scoring::PoolOutputs{logits, embedding};
                                }};
  auto model = models::create_model("resnet8", {1, 3, 8});
  const auto el2n = scoring::find_scorer("el2n").make(c);
  EXPECT_TRUE(el2n.observers.empty());
  EXPECT_TRUE(torch::allclose(el2n.finish(*model).scores, prune::el2n_from_logits(logits, labels)));
  const auto moderate = scoring::find_scorer("moderate").make(c);
  EXPECT_TRUE(torch::allclose(moderate.finish(*model).scores, prune::class_median_distance(embedding, labels, 3)));
  EXPECT_EQ(inferred, 2);
  // The training-dynamics scorers record through one observer and need no pass afterwards.
  for (const char* name : {"forgetting", "aum", "dual"}) EXPECT_EQ(scoring::find_scorer(name).make(c).observers.size(), 1u) << name;
  EXPECT_EQ(inferred, 2);
}

// score.checkpoint scores a model file with the scorers that are functions of one model: exactly
// those whose make attaches no observer (nothing recorded during training) and that are scored
// per model; every other scorer is refused with a checkpoint.
TEST(ScorerRegistry, OneModelScorersRecordNothingDuringTraining) {
  std::vector<std::string> one;
  for (const auto& s : scoring::scorer_registry())
    if (s.one_model) one.push_back(s.name);
  EXPECT_EQ(one, (std::vector<std::string>{"el2n", "grand", "moderate"}));
  const Config cfg;
  data::TensorDataset data;
  data.info.classes = 2;
  const scoring::ScoreContext c{.config = cfg, .data = data, .device = torch::kCPU, .n = 4,
                                .pool = torch::arange(4, torch::kInt64), .labels = torch::tensor({0, 1, 0, 1}, torch::kInt64),
                                .infer = [](models::ModelImpl&) { return scoring::PoolOutputs{}; }};
  for (const auto& s : scoring::scorer_registry()) {
    if (s.strategy != scoring::Strategy::per_model) {
      EXPECT_FALSE(s.one_model) << s.name;
      continue;
    }
    EXPECT_EQ(s.make(c).observers.empty(), s.one_model) << s.name;
    if (s.one_model) {
      EXPECT_FALSE(s.needs_epochs) << s.name;
    }
  }
}
