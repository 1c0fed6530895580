#pragma once
// Score-free subset selection: random and class-balanced random pruning (seeded, pure functions
// of their inputs). Selections are returned as ascending dataset indices.
#include <cstdint>
#include <string>
#include <vector>

namespace kdprune::prune {

// N_f = round(f·n), at least 1 for a non-empty pool.
int64_t kept_count(double f, int64_t n);

// k indices of `pool` uniformly without replacement.
std::vector<int64_t> random_selection(const std::vector<int64_t>& pool, int64_t k, int64_t seed);

// Per-class quotas: k split equally over the classes present in the pool (remainders to the
// lowest class indices), capped at each class's size with the excess redistributed equally to
// classes that still have room. Returned per class (length = classes).
std::vector<int64_t> class_balanced_quotas(const std::vector<int64_t>& class_sizes, int64_t k);

// k indices of `pool`, balanced over classes by class_balanced_quotas, uniform within a class.
// labels[i] is the class of dataset index i.
std::vector<int64_t> class_balanced_random_selection(const std::vector<int64_t>& pool, const std::vector<int64_t>& labels,
                                                     int64_t classes, int64_t k, int64_t seed);

struct PrunerEntry {
  std::string name;
  std::string description;
  bool needs_scores;
};
// Pruning methods by name (kdprune info lists them).
const std::vector<PrunerEntry>& pruner_registry();

}  // namespace kdprune::prune
