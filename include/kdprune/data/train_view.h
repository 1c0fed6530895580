#pragma once
// The training samples a run uses, as sorted indices into the training split: the whole set, a
// seeded random fraction (data.fraction), a subset file from `prune` (data.subset), and/or one
// part of a seeded disjoint teacher/student split (data.split, data.part). Subsets are views,
// never copies, so every run trains through the same code path.
#include <cstdint>
#include <string>
#include <vector>

#include "kdprune/config/config.h"

namespace kdprune::data {

struct SplitParts {
  std::vector<int64_t> teacher, student;  // disjoint, together 0..n-1, each ascending
};
// round(teacher_share·n) samples to the teacher, the rest to the student; a pure function of seed.
SplitParts disjoint_split(int64_t n, double teacher_share, int64_t seed);

// Applies data.split/part, then data.subset or data.fraction. `seed` is run.seed.
std::vector<int64_t> select_train_indices(const DataSection& data, int64_t n, int64_t seed);

// data.val_split: `share` of `view` held out for validation, class-stratified: class c of the view
// (n_c samples) gives floor(share·n_c), and the round(share·n) − Σ floor left over go one each to
// the classes with the largest remainders share·n_c − floor (ties: the lower class), never taking
// a class's last sample, so every class of the view keeps at least one to train on. Which samples:
// the first of each class in an order shuffled from `seed` (its own stream: no training draw moves).
// A share that holds out no sample is an Error naming data.val_split.
struct ValidationSplit {
  std::vector<int64_t> train, val;  // disjoint, together `view`, each ascending
};
ValidationSplit validation_split(const std::vector<int64_t>& view, const std::vector<int64_t>& labels, int64_t classes,
                                 double share, int64_t seed);

// The training view of a run: data.split/part first, then one of data.subset (index file),
// inline pruning (prune.method random|class_balanced_random with prune.fraction < 1, seeded by
// prune.seed) or data.fraction (seeded by run.seed); then, with data.val_split > 0, the validation
// samples held out of that subset (validation_split, seeded by data.split_seed, -1 = run.seed).
struct TrainView {
  std::vector<int64_t> indices;  // ascending: what the run trains on
  std::vector<int64_t> val;      // ascending: held out of the subset for validation (data.val_split); empty without
  int64_t pool_size = 0;         // samples it was chosen from (the split part, or the whole set)
  // The subset's share of the pool (the kept fraction f: the validation samples are part of it).
  double f() const {
    return pool_size ? static_cast<double>(indices.size() + val.size()) / static_cast<double>(pool_size) : 0.0;
  }
  std::string how;               // e.g. "prune random f=0.1 seed 0"
};
TrainView select_train_view(const Config& config, const std::vector<int64_t>& labels, int64_t classes);


}  // namespace kdprune::data
