#pragma once
// `kdprune samples`: the highest- (and lowest-) scoring samples of a score file, with their pixels,
// labels and class names, for the paper's Fig. 2 (scripts/plot_samples.py draws the grid).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "kdprune/commands/commands.h"

namespace kdprune::commands {

struct GalleryOptions {
  std::string scores;  // a score file (.npy or .csv), e.g. runs/x/scores.npy
  int64_t top = 10, bottom = 0;
  std::string out;     // the .json to write; its images go beside it as .npy ("": gallery.json beside the scores)
};

// The dataset is the config's: --config, else the config.yaml beside the scores (a `kdprune score`
// run's), else the defaults, with the overrides on top. The samples ranked are the scoring pool
// (data.split/part; checked against scores.json's record), so a sample outside the pool, which
// holds a placeholder 0, is never drawn. Everything is checked before anything is written: a score
// file of another length or with NaN scores, another dataset than scores.json names, counts beyond
// the pool are one-line kdprune::Errors. Writes <out>.npy (uint8, picks×C×H×W) then <out>.json
// (each atomically) and returns the JSON.
nlohmann::json sample_gallery(const CommandOptions& opts, const GalleryOptions& g);

}  // namespace kdprune::commands
