#include "kdprune/prune/pool.h"

#include <filesystem>

#include "kdprune/io/atomic_file.h"
#include "kdprune/util/error.h"
#include "kdprune/util/hash.h"

namespace kdprune::prune {
namespace {
std::string pool_hash(const std::vector<int64_t>& pool) {
  return hex64(fnv1a64(std::string_view(reinterpret_cast<const char*>(pool.data()), pool.size() * sizeof(int64_t))));
}
std::string describe(int64_t size, double split, const std::string& part) {
  return std::to_string(size) + " samples" +
         (split > 0 ? " (data.split=" + std::to_string(split).substr(0, 6) + ", data.part=" + part + ")" : "");
}
}  // namespace

nlohmann::json pool_record(const std::vector<int64_t>& pool, const DataSection& data) {
  return {{"size", pool.size()}, {"hash", pool_hash(pool)}, {"split", data.split}, {"part", data.part}};
}

void check_scores_pool(const std::string& scores_path, const std::vector<int64_t>& pool, const DataSection& data) {
  const auto info_path = std::filesystem::path(scores_path).parent_path() / "scores.json";
  if (!std::filesystem::exists(info_path)) return;
  nlohmann::json info;
  try {
    info = nlohmann::json::parse(io::read_file(info_path.string()));
  } catch (const nlohmann::json::exception&) {
    throw Error(info_path.string() + ": not valid JSON (the record of the scores beside it)");
  }
  if (!info.contains("pool") || !info["pool"].is_object()) return;  // scored before pools were recorded
  const auto& p = info["pool"];
  if (p.value("hash", "") == pool_hash(pool)) return;
  throw Error("prune: the scores in " + scores_path + " were computed on a pool of " +
              describe(p.value("size", int64_t{0}), p.value("split", 0.0), p.value("part", "all")) +
              ", but this selection's pool is " + describe(static_cast<int64_t>(pool.size()), data.split, data.part) +
              "; score and prune with the same data.split, data.part and run.seed");
}

}  // namespace kdprune::prune
