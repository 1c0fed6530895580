// prune.sampling=d2: D2 pruning (Maharana et al., ICLR 2024) of the pool left by the cut-off, on
// kNN graphs of prune.model's embeddings: per class (the reference's class mode, an equal share of
// k each) or over the whole pool. Deterministic.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "kdprune/prune/d2.h"
#include "kdprune/prune/sampling.h"
#include "kdprune/prune/score_selection.h"
#include "kdprune/prune/selection.h"
#include "kdprune/prune/stratified.h"

namespace kdprune::prune {
namespace {

// D2 over `nodes` (dataset indices): the kNN graph of their embeddings, forward message passing of
// the scores, greedy reverse message-passing selection of `budget`.
std::vector<int64_t> d2_pick(const SamplingInputs& in, const std::vector<int64_t>& nodes, int64_t budget) {
  const auto& p = in.prune;
  if (static_cast<int64_t>(nodes.size()) <= budget) return nodes;
  // Too few nodes for a kNN graph (a tiny class): the highest scores.
  if (static_cast<int64_t>(nodes.size()) <= p.knn) return select_by_score(nodes, in.scores, budget, "hard");
  std::vector<double> s;
  for (int64_t i : nodes) s.push_back(in.scores[static_cast<size_t>(i)]);
  const Adjacency adj = d2_adjacency(in.knn(nodes, p.knn), p.d2_graph == "symmetric");
  const auto picks = d2_greedy(adj, d2_forward(adj, s, p.d2_gamma), budget, p.d2_beta);
  std::vector<int64_t> out;
  for (int64_t i : picks) out.push_back(nodes[static_cast<size_t>(i)]);
  return out;
}

std::vector<int64_t> d2_select(const SamplingInputs& in) {
  const auto& p = in.prune;
  const auto& nodes = in.kept;
  if (static_cast<int64_t>(nodes.size()) <= in.k) return nodes;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<int64_t> out;
  if (p.d2_per_class) {
    const auto by_class = group_by_class(nodes, in.labels, in.classes);
    const auto sizes = pool_class_sizes(nodes, in.labels, in.classes);
    // The reference's uniform bin_allocate (smallest class first, min(size, left / classes left))
    // is the CCS budget rule; proportional shares as DeepCore's when prune.class_shares says so.
    // Proportional shares are of the class sizes before the cut-off, capped at what is left.
    std::vector<int64_t> quota = ccs_budgets(sizes, in.k);
    if (p.class_shares == "proportional") {
      quota = proportional_quotas(pool_class_sizes(in.pool, in.labels, in.classes), p.fraction);
      for (size_t c = 0; c < quota.size(); ++c) quota[c] = std::min(quota[c], sizes[c]);
    }
    for (size_t c = 0; c < by_class.size(); ++c) {
      if (quota[c] == 0) continue;
      const auto part = d2_pick(in, by_class[c], quota[c]);
      out.insert(out.end(), part.begin(), part.end());
    }
  } else {
    out = d2_pick(in, nodes, in.k);
  }
  spdlog::info("d2: {} nodes{}, k = {}, forward exp(-{} d), reverse exp(-{} d), {} graph -> {} picks in {:.1f} s",
               nodes.size(), p.d2_per_class ? " in per-class graphs" : "", p.knn, p.d2_gamma, p.d2_beta, p.d2_graph,
               out.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

SamplingRule d2_rule() {
  return {
      .name = "d2",
      .description = "cut-off (prune.cutoff), then D2's forward and reverse message passing on kNN graphs of "
                     "prune.model's embeddings (per class with prune.d2_per_class)",
      .seeded = false,
      .reads = {.cutoff = true, .model = true},
      .record =
          [](const PruneSection& p) {
            nlohmann::json j = {{"cutoff", p.cutoff},
                                {"d2", {{"knn", p.knn}, {"forward_gamma", p.d2_gamma}, {"reverse_beta", p.d2_beta},
                                        {"graph", p.d2_graph}, {"per_class", p.d2_per_class}}}};
            if (p.d2_per_class) j["class_shares"] = p.class_shares;
            return j;
          },
      .select = d2_select,
  };
}

}  // namespace kdprune::prune
