#pragma once
// The pruners by name (prune.method, experiment.pruners; `kdprune info` lists them): the
// score-free ones with their selection, every `kdprune score` method (prune/scorer_list.h), and
// labels of selections over score files. Torch-free, so `kdprune run` checks names before any stage.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kdprune::prune {

// What a score-free pruner selects from.
struct ScoreFreeInputs {
  const std::vector<int64_t>& pool;    // dataset indices, ascending
  const std::vector<int64_t>& labels;  // class of each dataset index
  const std::vector<int64_t>& quota;   // per-class quotas of prune.class_shares
  int64_t k = 0;                       // how many to keep
  int64_t seed = 0;                    // prune.seed
  bool class_balanced = false;         // prune.class_balanced
};

struct PrunerEntry {
  std::string name{};
  std::string description{};
  bool needs_scores = true;
  bool label_only = false;      // a name for a selection over a score file (scores, ccs, d2), not a method to compute
  bool class_balanced = false;  // selects per class whatever prune.class_balanced says
  // Score-free pruners: the selection, seeded by prune.seed; empty for the others.
  std::function<std::vector<int64_t>(const ScoreFreeInputs&)> select{};
};

const std::vector<PrunerEntry>& pruner_registry();
// The entry named `name`, or null.
const PrunerEntry* find_pruner(const std::string& name);
// `name` is a score-free pruner (selects without scores).
bool score_free(const std::string& name);
// `name` is a pruner that selects per class whatever prune.class_balanced says (class_balanced_random).
bool class_balanced_pruner(const std::string& name);
// The score-free pruners' names, "a and b" / "a, b and c" (for messages).
std::string score_free_names();

}  // namespace kdprune::prune
