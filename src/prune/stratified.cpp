#include "kdprune/prune/stratified.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "kdprune/prune/selection.h"
#include "kdprune/util/error.h"

namespace kdprune::prune {
namespace {
uint64_t stream_seed(int64_t seed, uint64_t stream) {
  return static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL ^ (stream * 0xC2B2AE3D27D4EB4FULL + 0x165667b1);
}
double score_of(const std::vector<double>& scores, int64_t i) { return scores[static_cast<size_t>(i)]; }
}  // namespace

std::vector<int64_t> ccs_budgets(const std::vector<int64_t>& sizes, int64_t k) {
  std::vector<size_t> order;
  for (size_t b = 0; b < sizes.size(); ++b)
    if (sizes[b] > 0) order.push_back(b);
  // Smallest bin first (ties: lower bin), so small bins are covered in full.
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return sizes[x] < sizes[y]; });
  std::vector<int64_t> budget(sizes.size(), 0);
  int64_t left = k;
  for (size_t i = 0; i < order.size(); ++i) {
    const int64_t bins_left = static_cast<int64_t>(order.size() - i);
    const int64_t share = left / bins_left;
    budget[order[i]] = std::min(sizes[order[i]], share);
    left -= budget[order[i]];
  }
  // Integer shares can leave a remainder the largest bins absorb (floor(left/bins) rounds down).
  for (auto it = order.rbegin(); it != order.rend() && left > 0; ++it) {
    const int64_t extra = std::min(left, sizes[*it] - budget[*it]);
    budget[*it] += extra;
    left -= extra;
  }
  return budget;
}

std::vector<int64_t> drop_hardest(const std::vector<int64_t>& pool, const std::vector<double>& scores, double cutoff,
                                  int64_t k) {
  const auto n = static_cast<int64_t>(pool.size());
  std::vector<int64_t> by_score = pool;
  std::sort(by_score.begin(), by_score.end(), [&](int64_t a, int64_t b) {
    const double sa = score_of(scores, a), sb = score_of(scores, b);
    return sa != sb ? sa > sb : a > b;
  });
  const int64_t cut = std::clamp<int64_t>(static_cast<int64_t>(std::floor(cutoff * static_cast<double>(n))), 0,
                                          std::max<int64_t>(n - k, 0));
  std::vector<int64_t> kept(by_score.begin() + cut, by_score.end());
  std::sort(kept.begin(), kept.end());
  return kept;
}

std::vector<int64_t> drop_lowest(const std::vector<int64_t>& pool, const std::vector<double>& values, double cutoff,
                                 int64_t k) {
  std::vector<double> negated(values.size());
  for (size_t i = 0; i < values.size(); ++i) negated[i] = -values[i];
  return drop_hardest(pool, negated, cutoff, k);
}

std::vector<int64_t> ccs_selection(const std::vector<int64_t>& pool, const std::vector<double>& scores, int64_t k,
                                   double cutoff, int64_t strata, int64_t seed) {
  if (k >= static_cast<int64_t>(pool.size())) return pool;
  return ccs_sample(drop_hardest(pool, scores, cutoff, k), scores, k, strata, seed);
}

std::vector<int64_t> ccs_sample(const std::vector<int64_t>& kept, const std::vector<double>& scores, int64_t k,
                                int64_t strata, int64_t seed) {
  if (k >= static_cast<int64_t>(kept.size())) return kept;
  for (int64_t i : kept)
    if (!std::isfinite(score_of(scores, i)))
      throw Error("ccs sampling: the score of sample " + std::to_string(i) + " is not finite (strata need finite scores)");
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int64_t i : kept) lo = std::min(lo, score_of(scores, i)), hi = std::max(hi, score_of(scores, i));
  std::vector<std::vector<int64_t>> bins(static_cast<size_t>(strata));
  const double width = (hi - lo) / static_cast<double>(strata);
  for (int64_t i : kept) {
    int64_t b = width > 0 ? static_cast<int64_t>((score_of(scores, i) - lo) / width) : 0;
    bins[static_cast<size_t>(std::clamp<int64_t>(b, 0, strata - 1))].push_back(i);  // max lands in the last bin
  }
  std::vector<int64_t> sizes;
  for (auto& b : bins) {
    std::sort(b.begin(), b.end());
    sizes.push_back(static_cast<int64_t>(b.size()));
  }
  const auto budget = ccs_budgets(sizes, k);
  std::vector<int64_t> out;
  for (size_t b = 0; b < bins.size(); ++b) {
    const auto part = random_subset(bins[b], budget[b], stream_seed(seed, 1000 + b));
    out.insert(out.end(), part.begin(), part.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

double beta_pdf(double x, double a, double b) {
  const double log_beta = std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b);
  return std::exp((a - 1) * std::log(x) + (b - 1) * std::log1p(-x) - log_beta);
}

std::string auto_sampling(bool dual_scores, double f, const std::string& level, bool class_balanced) {
  return dual_scores && f <= kAutoBetaMaxFraction && level == "hard" && !class_balanced ? "beta" : "topk";
}

BetaParams beta_params(const std::vector<double>& scores, const std::vector<double>& mean_prob, double f, double cd) {
  if (scores.size() != mean_prob.size())
    throw Error("beta sampling: " + std::to_string(scores.size()) + " scores but " + std::to_string(mean_prob.size()) +
                " mean probabilities");
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!(mean_prob[i] >= 0.0 && mean_prob[i] <= 1.0))
      throw Error("beta sampling: mean probability " + std::to_string(mean_prob[i]) + " of sample " + std::to_string(i) +
                  " is not in [0, 1]");
    if (std::isnan(scores[i])) throw Error("beta sampling: the score of sample " + std::to_string(i) + " is NaN");
  }
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t top = std::min<size_t>(10, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(top), order.end(),
                    [&](size_t x, size_t y) { return scores[x] != scores[y] ? scores[x] > scores[y] : x < y; });
  double m = 0;
  for (size_t i = 0; i < top; ++i) m += mean_prob[order[i]];
  m /= static_cast<double>(std::max<size_t>(top, 1));
  // r is the pruning rate. The reference CIFAR and ImageNet scripts use r^c_d (not r^(2 + c_d)).
  const double r = 1.0 - f;
  const double b = 15.0 * (1.0 - m) * (1.0 - std::pow(r, cd));
  return {16.0 - b, b};
}

std::vector<double> beta_sampling_weights(const std::vector<double>& scores, const std::vector<double>& mean_prob,
                                          double f, double cd) {
  const BetaParams p = beta_params(scores, mean_prob, f, cd);
  std::vector<double> w(scores.size());
  for (size_t i = 0; i < w.size(); ++i) {
    const double x = std::clamp(mean_prob[i], 1e-6, 1.0 - 1e-6);
    // b = 0 (f = 1, or a top-10 that is always right) degenerates the density: weight by score only.
    const double density = p.b > 0 ? beta_pdf(x, p.a, p.b) : 1.0;
    w[i] = density * std::max(scores[i], 0.0);
  }
  return w;
}

std::vector<int64_t> weighted_sample_without_replacement(const std::vector<int64_t>& pool,
                                                         const std::vector<double>& weights, int64_t k, int64_t seed) {
  std::mt19937_64 rng(stream_seed(seed, 7));
  std::vector<std::pair<double, int64_t>> keys;
  keys.reserve(pool.size());
  for (int64_t i : pool) {
    // log(u)/w: the largest keys are an exact draw without replacement proportional to w.
    const double u = (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53;
    const double w = weights[static_cast<size_t>(i)];
    keys.emplace_back(w > 0 ? std::log(u) / w : -std::numeric_limits<double>::infinity(), i);
  }
  const auto take = static_cast<size_t>(std::clamp<int64_t>(k, 0, static_cast<int64_t>(keys.size())));
  std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(take), keys.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first > y.first : x.second < y.second;
  });
  std::vector<int64_t> out;
  for (size_t i = 0; i < take; ++i) out.push_back(keys[i].second);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace kdprune::prune
