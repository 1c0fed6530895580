#include "kdprune/prune/selection.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "kdprune/util/error.h"

namespace kdprune::prune {
namespace {
uint64_t mix(int64_t seed, uint64_t stream) { return static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL ^ (stream * 0xD1B54A32D192ED03ULL + 0x7f4a); }
}  // namespace

void shuffle(std::vector<int64_t>& v, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng() % i);
    std::swap(v[i - 1], v[j]);
  }
}

std::vector<int64_t> random_subset(const std::vector<int64_t>& from, int64_t k, uint64_t seed) {
  std::vector<int64_t> v = from;
  shuffle(v, seed);
  v.resize(static_cast<size_t>(std::clamp<int64_t>(k, 0, static_cast<int64_t>(v.size()))));
  std::sort(v.begin(), v.end());
  return v;
}

int64_t kept_count(double f, int64_t n) {
  if (n <= 0) return 0;
  return std::clamp<int64_t>(std::llround(f * static_cast<double>(n)), 1, n);
}

std::vector<int64_t> random_selection(const std::vector<int64_t>& pool, int64_t k, int64_t seed) {
  return random_subset(pool, k, mix(seed, 1));
}

std::vector<int64_t> class_balanced_quotas(const std::vector<int64_t>& sizes, int64_t k) {
  const auto classes = static_cast<int64_t>(sizes.size());
  std::vector<int64_t> quota(sizes.size(), 0);
  int64_t left = k;
  // Hand out equal shares to the classes with room, lowest class first for remainders, until
  // the budget is spent or every class is full.
  while (left > 0) {
    std::vector<int64_t> open;
    for (int64_t c = 0; c < classes; ++c)
      if (quota[c] < sizes[c]) open.push_back(c);
    if (open.empty()) break;
    const auto m = static_cast<int64_t>(open.size());
    const int64_t share = left / m, extra = left % m;
    for (int64_t i = 0; i < m; ++i) {
      const int64_t c = open[static_cast<size_t>(i)];
      const int64_t want = share + (i < extra ? 1 : 0);
      const int64_t give = std::min(want, sizes[c] - quota[c]);
      quota[c] += give;
      left -= give;
    }
  }
  return quota;
}

std::vector<int64_t> proportional_quotas(const std::vector<int64_t>& sizes, double f) {
  std::vector<int64_t> quota;
  for (int64_t n : sizes) {
    const double x = f * static_cast<double>(n);
    // Python 3's round(): halves go to the even neighbour (round(2.5) = 2, round(3.5) = 4).
    double r = std::round(x);
    if (std::abs(x - std::trunc(x)) == 0.5) r = 2.0 * std::round(x / 2.0);
    quota.push_back(std::clamp<int64_t>(static_cast<int64_t>(r), 0, n));
  }
  return quota;
}

std::vector<std::vector<int64_t>> group_by_class(const std::vector<int64_t>& pool, const std::vector<int64_t>& labels,
                                                 int64_t classes) {
  std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(classes));
  for (int64_t i : pool) by_class[static_cast<size_t>(labels[static_cast<size_t>(i)])].push_back(i);
  return by_class;
}

std::vector<int64_t> pool_class_sizes(const std::vector<int64_t>& pool, const std::vector<int64_t>& labels, int64_t classes) {
  std::vector<int64_t> sizes(static_cast<size_t>(classes), 0);
  for (int64_t i : pool) ++sizes[static_cast<size_t>(labels[static_cast<size_t>(i)])];
  return sizes;
}

std::vector<int64_t> class_quotas(const std::vector<int64_t>& sizes, int64_t k, double f, const std::string& shares) {
  if (shares == "equal") return class_balanced_quotas(sizes, k);
  if (shares == "proportional") return proportional_quotas(sizes, f);
  throw Error("prune.class_shares: expected equal or proportional, got '" + shares + "'");
}

std::vector<int64_t> class_balanced_random_selection(const std::vector<int64_t>& pool, const std::vector<int64_t>& labels,
                                                     const std::vector<int64_t>& quota, int64_t seed) {
  const auto by_class = group_by_class(pool, labels, static_cast<int64_t>(quota.size()));
  std::vector<int64_t> out;
  for (size_t c = 0; c < quota.size(); ++c) {
    auto part = random_subset(by_class[c], quota[c], mix(seed, 100 + static_cast<uint64_t>(c)));
    out.insert(out.end(), part.begin(), part.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int64_t> class_balanced_random_selection(const std::vector<int64_t>& pool, const std::vector<int64_t>& labels,
                                                     int64_t classes, int64_t k, int64_t seed) {
  return class_balanced_random_selection(pool, labels, class_balanced_quotas(pool_class_sizes(pool, labels, classes), k), seed);
}

}  // namespace kdprune::prune
