#include "kdprune/prune/d2.h"

#include <cmath>
#include <queue>
#include <tuple>

namespace kdprune::prune {

std::vector<double> d2_forward(const KnnGraph& g, const std::vector<double>& s, double gamma) {
  std::vector<double> out(s);
  for (int64_t i = 0; i < g.n; ++i)
    for (int64_t e = i * g.k; e < (i + 1) * g.k; ++e)
      out[static_cast<size_t>(i)] += std::exp(-gamma * g.distances[static_cast<size_t>(e)]) *
                                     s[static_cast<size_t>(g.neighbors[static_cast<size_t>(e)])];
  return out;
}

std::vector<int64_t> d2_greedy(const KnnGraph& g, std::vector<double> s, int64_t budget, double beta) {
  // A max-heap with lazy deletion: an entry is stale when its version is not the node's current one.
  using Entry = std::tuple<double, int64_t, int64_t>;  // score, -node (lower node wins ties), version
  std::priority_queue<Entry> heap;
  std::vector<int64_t> version(static_cast<size_t>(g.n), 0);
  std::vector<bool> taken(static_cast<size_t>(g.n), false);
  for (int64_t i = 0; i < g.n; ++i) heap.emplace(s[static_cast<size_t>(i)], -i, 0);
  std::vector<int64_t> picks;
  while (static_cast<int64_t>(picks.size()) < budget && !heap.empty()) {
    const auto [score, neg, ver] = heap.top();
    heap.pop();
    const int64_t i = -neg;
    if (taken[static_cast<size_t>(i)] || ver != version[static_cast<size_t>(i)]) continue;
    taken[static_cast<size_t>(i)] = true;
    picks.push_back(i);
    for (int64_t e = i * g.k; e < (i + 1) * g.k; ++e) {
      const auto j = static_cast<size_t>(g.neighbors[static_cast<size_t>(e)]);
      if (taken[j]) continue;
      s[j] -= std::exp(-beta * g.distances[static_cast<size_t>(e)]) * score;
      heap.emplace(s[j], -static_cast<int64_t>(j), ++version[j]);
    }
  }
  return picks;
}

}  // namespace kdprune::prune
