#include "kdprune/prune/d2.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <tuple>

namespace kdprune::prune {

Adjacency d2_adjacency(const KnnGraph& g, bool symmetric) {
  // Edge lists per node, then compressed; a pair present both ways is kept once.
  std::vector<std::vector<std::pair<int64_t, double>>> rows(static_cast<size_t>(g.n));
  for (int64_t i = 0; i < g.n; ++i)
    for (int64_t e = i * g.k; e < (i + 1) * g.k; ++e) {
      const int64_t j = g.neighbors[static_cast<size_t>(e)];
      const double d = g.distances[static_cast<size_t>(e)];
      rows[static_cast<size_t>(i)].emplace_back(j, d);
      if (symmetric) rows[static_cast<size_t>(j)].emplace_back(i, d);
    }
  Adjacency a;
  a.n = g.n;
  a.offsets.push_back(0);
  for (auto& r : rows) {
    std::sort(r.begin(), r.end());
    r.erase(std::unique(r.begin(), r.end(), [](const auto& x, const auto& y) { return x.first == y.first; }), r.end());
    for (const auto& [j, d] : r) a.neighbors.push_back(j), a.distances.push_back(d);
    a.offsets.push_back(static_cast<int64_t>(a.neighbors.size()));
  }
  return a;
}

std::vector<double> d2_forward(const Adjacency& a, const std::vector<double>& s, double gamma) {
  std::vector<double> out(s);
  for (int64_t i = 0; i < a.n; ++i)
    for (int64_t e = a.offsets[static_cast<size_t>(i)]; e < a.offsets[static_cast<size_t>(i) + 1]; ++e)
      out[static_cast<size_t>(i)] += std::exp(-gamma * a.distances[static_cast<size_t>(e)]) *
                                     std::max(s[static_cast<size_t>(a.neighbors[static_cast<size_t>(e)])], 1e-7);
  return out;
}

std::vector<int64_t> d2_greedy(const Adjacency& a, std::vector<double> s, int64_t budget, double beta) {
  // A max-heap with lazy deletion: an entry is stale when its version is not the node's current one.
  using Entry = std::tuple<double, int64_t, int64_t>;  // score, -node (lower node wins ties), version
  std::priority_queue<Entry> heap;
  std::vector<int64_t> version(static_cast<size_t>(a.n), 0);
  std::vector<bool> taken(static_cast<size_t>(a.n), false);
  for (int64_t i = 0; i < a.n; ++i) heap.emplace(s[static_cast<size_t>(i)], -i, 0);
  std::vector<int64_t> picks;
  while (static_cast<int64_t>(picks.size()) < budget && !heap.empty()) {
    const auto [score, neg, ver] = heap.top();
    heap.pop();
    const int64_t i = -neg;
    if (taken[static_cast<size_t>(i)] || ver != version[static_cast<size_t>(i)]) continue;
    taken[static_cast<size_t>(i)] = true;
    picks.push_back(i);
    for (int64_t e = a.offsets[static_cast<size_t>(i)]; e < a.offsets[static_cast<size_t>(i) + 1]; ++e) {
      const auto j = static_cast<size_t>(a.neighbors[static_cast<size_t>(e)]);
      if (taken[j]) continue;
      s[j] -= std::exp(-beta * a.distances[static_cast<size_t>(e)]) * score;
      heap.emplace(s[j], -static_cast<int64_t>(j), ++version[j]);
    }
  }
  return picks;
}

}  // namespace kdprune::prune
