#pragma once
// D2 pruning (Maharana et al., ICLR 2024) on a k-nearest-neighbour graph, as the reference code
// computes it (adymaharana/d2pruning core/data/sampling.py, GraphDensitySampler): forward message
// passing spreads difficulty to neighbours, then a greedy selection with reverse message passing
// picks the most difficult node and discounts its neighbours, so the next picks come from
// elsewhere. Nodes are positions 0..n-1 (the caller maps them to dataset indices).
#include <cstdint>
#include <vector>

namespace kdprune::prune {

struct KnnGraph {
  int64_t n = 0, k = 0;
  std::vector<int64_t> neighbors;  // n * k, row i: the k nearest other nodes of i
  std::vector<double> distances;   // n * k, Euclidean, the same order
};

// The neighbourhoods message passing runs over, in compressed rows: node i's neighbours are
// neighbors[offsets[i] .. offsets[i+1]) with their distances.
struct Adjacency {
  int64_t n = 0;
  std::vector<int64_t> offsets;  // n + 1
  std::vector<int64_t> neighbors;
  std::vector<double> distances;
};

// symmetric = true: j is a neighbour of i when j is in kNN(i) or i is in kNN(j), with the distance
// d_ij (the reference's dense path fills connect[i, j] and connect[j, i] for every kNN pair);
// false: the out-edges kNN(i) only (the reference's precomputed-neighbour path).
Adjacency d2_adjacency(const KnnGraph& g, bool symmetric);

// s'_i = s_i + sum_{j in N(i)} exp(-gamma d_ij) * max(s_j, 1e-7) (sampling.py: the neighbour terms
// are clamped at 1e-7, s_i itself is not; the reference's gamma here is 1).
std::vector<double> d2_forward(const Adjacency& a, const std::vector<double>& s, double gamma);

// Picks `budget` nodes: repeatedly the highest current score g_p (ties: lower node), then
// g_j -= exp(-beta d_pj) * g_p for every unpicked neighbour j (g_p is the current, discounted
// score, so a negative g_p raises its neighbours, as in the reference). Returns the pick order.
std::vector<int64_t> d2_greedy(const Adjacency& a, std::vector<double> s, int64_t budget, double beta);

}  // namespace kdprune::prune
