#pragma once
// The samples of a score file worth looking at (the paper's Fig. 2): the highest- and
// lowest-scoring samples of the pool the scores were computed on, with their pixels as the
// dataset holds them (a streamed image folder: decoded through the evaluation transform).
// Torch-free; `kdprune samples` writes it out and scripts/plot_samples.py draws it.
#include <cstdint>
#include <string>
#include <vector>

#include "kdprune/data/raw_dataset.h"

namespace kdprune::data {

struct GalleryPick {
  std::string group;  // "top" (highest first) or "bottom" (lowest first)
  int64_t rank = 0;   // 1-based within its group
  int64_t index = 0;  // into the training split
  int64_t label = 0;
  double score = 0;
};

struct Gallery {
  int64_t c = 0, h = 0, w = 0;
  std::vector<GalleryPick> picks;  // the top group, then the bottom group
  std::vector<uint8_t> images;     // picks.size()×c×h×w, in the order of picks
};

// The `top` highest and `bottom` lowest of `pool` (training indices) by scores[index]; equal
// scores rank by the lower index, as prune::select_by_score does. A sample may be in both groups
// when top + bottom exceeds the pool. kdprune::Error when a count is negative, both are 0, or
// one exceeds the pool.
std::vector<GalleryPick> rank_pool(const std::vector<int64_t>& pool, const std::vector<double>& scores,
                                   const std::vector<int64_t>& labels, int64_t top, int64_t bottom);

// rank_pool plus the picks' pixels from the training split.
Gallery sample_gallery(const RawDataset& ds, const std::vector<int64_t>& pool, const std::vector<double>& scores,
                       int64_t top, int64_t bottom);

}  // namespace kdprune::data
