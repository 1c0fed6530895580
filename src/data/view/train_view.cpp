#include "kdprune/data/train_view.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kdprune/io/index_list.h"
#include "kdprune/io/npy.h"
#include "kdprune/prune/pruner_registry.h"
#include "kdprune/prune/selection.h"
#include "kdprune/util/error.h"

namespace kdprune::data {

namespace {
// A kept fraction that rounds to no sample at all was silently raised to one: a typo (0.0001 for
// 0.001) would train on a single image.
void refuse_empty_share(const char* key, double f, int64_t pool) {
  if (pool > 0 && f * static_cast<double>(pool) < 0.5)
    throw Error(std::string(key) + "=" + std::to_string(f) + " keeps less than one of the " + std::to_string(pool) +
                " samples; expected at least " + std::to_string(1.0 / static_cast<double>(pool)));
}
}  // namespace
namespace {
constexpr uint64_t kSplitStream = 0x5b1u, kFractionStream = 0xf7acu, kValidationStream = 0x7a11du;
uint64_t mix(int64_t seed, uint64_t stream) { return static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL ^ stream; }
}  // namespace

SplitParts disjoint_split(int64_t n, double teacher_share, int64_t seed) {
  std::vector<int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  prune::shuffle(all, mix(seed, kSplitStream));
  const auto k = static_cast<std::ptrdiff_t>(std::llround(teacher_share * static_cast<double>(n)));
  SplitParts p{{all.begin(), all.begin() + k}, {all.begin() + k, all.end()}};
  std::sort(p.teacher.begin(), p.teacher.end());
  std::sort(p.student.begin(), p.student.end());
  return p;
}

namespace {
std::vector<int64_t> split_pool(const DataSection& data, int64_t n, int64_t seed) {
  std::vector<int64_t> pool(static_cast<size_t>(n));
  std::iota(pool.begin(), pool.end(), 0);
  if (data.part != "all") {
    SplitParts p = disjoint_split(n, data.split, data.split_seed >= 0 ? data.split_seed : seed);
    pool = data.part == "teacher" ? std::move(p.teacher) : std::move(p.student);
  }
  return pool;
}
}  // namespace

TrainView select_train_view(const Config& config, const std::vector<int64_t>& labels, int64_t classes) {
  const auto& prune = config.prune;
  const auto n = static_cast<int64_t>(labels.size());
  TrainView v;
  if (prune.fraction < 1.0) {
    const std::vector<int64_t> pool = split_pool(config.data, n, config.run.seed);
    v.pool_size = static_cast<int64_t>(pool.size());
    refuse_empty_share("prune.fraction", prune.fraction, v.pool_size);
    const int64_t k = prune::kept_count(prune.fraction, v.pool_size);
    const prune::PrunerEntry* pruner = prune::find_pruner(prune.method);
    if (pruner && pruner->select) {
      const auto quota = prune::class_quotas(prune::pool_class_sizes(pool, labels, classes), k, prune.fraction, prune.class_shares);
      // Inline pruning reads prune.method alone; prune.class_balanced is `kdprune prune`'s.
      v.indices = pruner->select({.pool = pool, .labels = labels, .quota = quota, .k = k, .seed = prune.seed, .class_balanced = false});
    } else
      throw Error("prune.method=" + prune.method + ": inline pruning supports " + prune::score_free_names() + "; "
                  "for score-based methods run `kdprune prune` and pass its subset.npy as data.subset");
    v.how = "prune " + prune.method + " f=" + std::to_string(prune.fraction) + " seed " + std::to_string(prune.seed);
  } else {
    v.indices = select_train_indices(config.data, n, config.run.seed);
    v.pool_size = static_cast<int64_t>(split_pool(config.data, n, config.run.seed).size());
    v.how = !config.data.subset.empty() ? "subset " + config.data.subset
            : config.data.fraction < 1.0 ? "random data.fraction " + std::to_string(config.data.fraction)
                                         : "all";
  }
  if (config.data.part != "all") v.how += " within the " + config.data.part + " part of a " + std::to_string(config.data.split) + " split";
  if (config.data.val_split > 0.0) {
    const int64_t seed = config.data.split_seed >= 0 ? config.data.split_seed : config.run.seed;
    ValidationSplit split = validation_split(v.indices, labels, classes, config.data.val_split, seed);
    v.indices = std::move(split.train);
    v.val = std::move(split.val);
    v.how += "; " + std::to_string(v.val.size()) + " held out for validation (data.val_split " +
             std::to_string(config.data.val_split) + ", seed " + std::to_string(seed) + ")";
  }
  return v;
}

ValidationSplit validation_split(const std::vector<int64_t>& view, const std::vector<int64_t>& labels, int64_t classes,
                                 double share, int64_t seed) {
  const auto n = static_cast<int64_t>(view.size());
  std::vector<int64_t> count(static_cast<size_t>(classes), 0), quota(count.size(), 0);
  for (int64_t i : view) ++count.at(static_cast<size_t>(labels.at(static_cast<size_t>(i))));
  int64_t held = 0;
  for (size_t c = 0; c < count.size(); ++c) held += quota[c] = static_cast<int64_t>(std::floor(share * static_cast<double>(count[c])));
  // Largest remainders: the total is round(share·n), as close to the share as the classes allow.
  std::vector<size_t> order(count.size());
  std::iota(order.begin(), order.end(), size_t{0});
  auto rest = [&](size_t c) { return share * static_cast<double>(count[c]) - static_cast<double>(quota[c]); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rest(a) > rest(b); });
  const int64_t want = std::llround(share * static_cast<double>(n));
  for (size_t c : order) {
    if (held >= want) break;
    if (rest(c) > 0 && quota[c] + 1 < count[c]) ++quota[c], ++held;
  }
  if (held == 0)
    throw Error("data.val_split=" + std::to_string(share) + " holds out no sample of the training view's " + std::to_string(n) +
                (n > 0 ? " (every class keeps at least one sample to train on); expected a larger share or a larger view"
                       : "; the view is empty"));
  std::vector<int64_t> shuffled = view;
  prune::shuffle(shuffled, mix(seed, kValidationStream));
  ValidationSplit out;
  for (int64_t i : shuffled) {
    auto& q = quota[static_cast<size_t>(labels[static_cast<size_t>(i)])];
    if (q > 0) --q, out.val.push_back(i);
    else out.train.push_back(i);
  }
  std::sort(out.train.begin(), out.train.end());
  std::sort(out.val.begin(), out.val.end());
  return out;
}

std::vector<int64_t> select_train_indices(const DataSection& data, int64_t n, int64_t seed) {
  std::vector<int64_t> pool = split_pool(data, n, seed);
  if (!data.subset.empty()) {
    std::vector<int64_t> subset = io::read_index_list(data.subset, "data.subset '" + data.subset + "'");
    std::sort(subset.begin(), subset.end());
    for (size_t i = 0; i < subset.size(); ++i) {
      if (subset[i] < 0 || subset[i] >= n)
        throw Error("data.subset '" + data.subset + "': index " + std::to_string(subset[i]) +
                    " is outside the training set of " + std::to_string(n) + " samples");
      if (i && subset[i] == subset[i - 1])
        throw Error("data.subset '" + data.subset + "': index " + std::to_string(subset[i]) + " appears twice");
      if (!std::binary_search(pool.begin(), pool.end(), subset[i]))
        throw Error("data.subset '" + data.subset + "': index " + std::to_string(subset[i]) +
                    " is not in data.part=" + data.part);
    }
    if (subset.empty()) throw Error("data.subset '" + data.subset + "': holds no indices");
    return subset;
  }
  if (data.fraction < 1.0) {
    refuse_empty_share("data.fraction", data.fraction, static_cast<int64_t>(pool.size()));
    const auto k = std::max<int64_t>(1, std::llround(data.fraction * static_cast<double>(pool.size())));
    return prune::random_subset(pool, k, mix(seed, kFractionStream));
  }
  return pool;
}

}  // namespace kdprune::data
