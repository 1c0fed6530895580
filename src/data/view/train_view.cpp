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
constexpr uint64_t kSplitStream = 0x5b1u, kFractionStream = 0xf7acu;
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
  return v;
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
