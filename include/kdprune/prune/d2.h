#pragma once
// D2 pruning (Maharana et al., ICLR 2024) on a k-nearest-neighbour graph: forward message passing
// spreads difficulty to neighbours, then a greedy selection with reverse message passing picks
// the most difficult node and discounts its neighbours, so the next picks come from elsewhere.
// Nodes are positions 0..n-1 (the caller maps them to dataset indices).
#include <cstdint>
#include <vector>

namespace kdprune::prune {

struct KnnGraph {
  int64_t n = 0, k = 0;
  std::vector<int64_t> neighbors;  // n * k, row i: the k nearest other nodes of i
  std::vector<double> distances;   // n * k, Euclidean, the same order
};

// s'_i = s_i + sum_{j in kNN(i)} exp(-gamma d_ij) s_j
std::vector<double> d2_forward(const KnnGraph& g, const std::vector<double>& s, double gamma);

// Picks `budget` nodes: repeatedly the highest current score (ties: lower node), then
// s_j -= exp(-beta d_ij) * s_i for every j in kNN(i). Returns the picks in pick order.
std::vector<int64_t> d2_greedy(const KnnGraph& g, std::vector<double> s, int64_t budget, double beta);

}  // namespace kdprune::prune
