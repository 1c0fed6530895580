#pragma once
// The registry of prune.sampling rules: how `kdprune prune` turns per-sample scores into a subset.
// Each rule is one file in src/prune/sampling/ and one line in include/kdprune/config/sampling_list.h.
// `kdprune prune` reads what a rule's `reads` names and calls `select`; `kdprune run` plans with
// `seeded` (one subset per seed) and `reads.model` (a teacher's model for the embeddings).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kdprune/config/config.h"
#include "kdprune/prune/d2.h"

namespace kdprune::prune {

// What a rule needs beyond the pool, its labels and prune.*; the command fetches these first.
struct SamplingReads {
  bool scores = true;      // a score file; false: without one, prune.method's score-free pruner stands in
  bool cutoff = false;     // the pool after the prune.cutoff share is dropped (by AUM or by score)
  bool mean_prob = false;  // DUAL's mean true-class probabilities (prune.mean_prob, or mean_prob.npy beside the scores)
  bool model = false;      // prune.model's embeddings (a kNN graph over them)
};

// The kNN graph (k = `knn` neighbours) of prune.model's embeddings of dataset indices `nodes`.
using KnnFn = std::function<KnnGraph(const std::vector<int64_t>& nodes, int64_t knn)>;

struct SamplingInputs {
  const PruneSection& prune;
  const std::vector<int64_t>& pool;    // dataset indices, ascending
  const std::vector<int64_t>& labels;  // class of each dataset index
  int64_t classes = 0;
  int64_t k = 0;                       // how many to keep
  const std::vector<int64_t>& quota;   // per-class quotas of prune.class_shares
  const std::vector<double>& scores;   // one per dataset index
  std::vector<int64_t> kept{};           // reads.cutoff: the pool after the cut-off
  std::vector<double> mean_prob{};       // reads.mean_prob: one per dataset index
  KnnFn knn{};                           // reads.model
};

struct SamplingRule {
  std::string name{};
  std::string description{};
  bool seeded = false;          // draws from prune.seed: `kdprune run` makes one subset per seed
  bool class_balanced = false;  // honours prune.class_balanced (the others select over the whole pool)
  SamplingReads reads{};
  // The rule's own subset.json fields (keys another rule writes are null).
  std::function<nlohmann::json(const PruneSection&)> record{};
  // The subset: ascending dataset indices.
  std::function<std::vector<int64_t>(const SamplingInputs&)> select{};
};

// Every rule, in the order `kdprune info` and the error messages list them.
const std::vector<SamplingRule>& sampling_registry();
// The rule named `name`, or kdprune::Error "prune.sampling: unknown rule '<name>' (expected one of: ...)".
const SamplingRule& sampling_rule(const std::string& name);
// The rule that score-free pruners select under (the one with reads.scores false: topk).
const SamplingRule& score_free_sampling();
// Known names joined as "a, b, c or d" (for messages).
std::string sampling_names_or();

}  // namespace kdprune::prune
