#pragma once
// The pool a score file was computed on (the training set, or one part of a disjoint split),
// recorded in scores.json so that `kdprune prune` can refuse to select from another pool: score
// values outside the scoring pool are placeholders, not scores.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "kdprune/config/config.h"

namespace kdprune::prune {

// {size, hash (FNV-1a of the ascending indices), split, part}
nlohmann::json pool_record(const std::vector<int64_t>& pool, const DataSection& data);

// Throws kdprune::Error when the scores.json beside `scores_path` records a pool other than
// `pool`. Score files without a record (made elsewhere) pass.
void check_scores_pool(const std::string& scores_path, const std::vector<int64_t>& pool, const DataSection& data);

}  // namespace kdprune::prune
