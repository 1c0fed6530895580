#pragma once
// Score-free subset selection: random and class-balanced random pruning (seeded, pure functions
// of their inputs). Selections are returned as ascending dataset indices.
#include <cstdint>
#include <string>
#include <vector>

namespace kdprune::prune {

// Fisher-Yates over mt19937_64: the same order with every standard library (std::shuffle's
// algorithm is the library's own), so subsets are identical across toolchains.
void shuffle(std::vector<int64_t>& v, uint64_t seed);
// k of the given indices, uniformly without replacement, returned ascending. Pure function of seed.
std::vector<int64_t> random_subset(const std::vector<int64_t>& from, int64_t k, uint64_t seed);

// N_f = round(f·n), at least 1 for a non-empty pool.
int64_t kept_count(double f, int64_t n);

// k indices of `pool` uniformly without replacement.
std::vector<int64_t> random_selection(const std::vector<int64_t>& pool, int64_t k, int64_t seed);

// Per-class quotas: k split equally over the classes present in the pool (remainders to the
// lowest class indices), capped at each class's size with the excess redistributed equally to
// classes that still have room. Returned per class (length = classes).
std::vector<int64_t> class_balanced_quotas(const std::vector<int64_t>& class_sizes, int64_t k);

// DeepCore's proportional shares (`round(self.fraction * len(c_indx))` in its methods): each class
// keeps round(f * n_c), Python's round (half to even), at most n_c. The total is near k, not exactly k.
std::vector<int64_t> proportional_quotas(const std::vector<int64_t>& class_sizes, double f);

// The pool's indices by class, ascending within a class (labels[i] is the class of dataset index i).
std::vector<std::vector<int64_t>> group_by_class(const std::vector<int64_t>& pool, const std::vector<int64_t>& labels,
                                                 int64_t classes);

// The pool's class sizes.
std::vector<int64_t> pool_class_sizes(const std::vector<int64_t>& pool, const std::vector<int64_t>& labels, int64_t classes);

// The per-class quotas of prune.class_shares: "equal" (class_balanced_quotas of k, exactly k in
// total) or "proportional" (proportional_quotas of f).
std::vector<int64_t> class_quotas(const std::vector<int64_t>& class_sizes, int64_t k, double f, const std::string& shares);

// quota[c] indices of class c from `pool`, uniform within a class.
std::vector<int64_t> class_balanced_random_selection(const std::vector<int64_t>& pool, const std::vector<int64_t>& labels,
                                                     const std::vector<int64_t>& quota, int64_t seed);
// The same with equal shares of k.
std::vector<int64_t> class_balanced_random_selection(const std::vector<int64_t>& pool, const std::vector<int64_t>& labels,
                                                     int64_t classes, int64_t k, int64_t seed);

}  // namespace kdprune::prune
