#include "kdprune/config/config_lookup.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "kdprune/build_config.h"
#include "kdprune/util/error.h"

namespace kdprune {
namespace fs = std::filesystem;

namespace {
fs::path executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}
}  // namespace

std::vector<std::string> shipped_config_dirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("KDPRUNE_CONFIGS"); env && *env) dirs.push_back(env);
  if (const fs::path exe = executable_dir(); !exe.empty()) {
    dirs.push_back((exe.parent_path() / "share" / "kdprune" / "configs").string());  // <prefix>/bin/kdprune
    dirs.push_back((exe.parent_path() / "configs").string());                        // <checkout>/build/kdprune
  }
  dirs.push_back(KDPRUNE_INSTALL_CONFIGS);
  dirs.push_back(KDPRUNE_SOURCE_CONFIGS);
  std::vector<std::string> unique;
  for (const auto& d : dirs) {
    std::error_code ec;
    const std::string key = fs::weakly_canonical(d, ec).string();
    bool seen = false;
    for (const auto& u : unique) seen = seen || fs::weakly_canonical(u, ec).string() == key;
    if (!seen) unique.push_back(d);
  }
  return unique;
}

std::string docs_dir() {
  std::vector<fs::path> dirs;
  if (const fs::path exe = executable_dir(); !exe.empty()) dirs.push_back(exe.parent_path() / "share" / "doc" / "kdprune");
  dirs.push_back(KDPRUNE_INSTALL_DOCS);
  dirs.push_back(KDPRUNE_SOURCE_DIR);
  for (const auto& d : dirs) {
    std::error_code ec;
    if (fs::is_regular_file(d / "README.md", ec) && fs::is_directory(d / "docs", ec)) return d.lexically_normal().string();
  }
  return {};
}

std::string resolve_config_path(const std::string& name) {
  std::error_code ec;
  if (name.empty() || fs::is_regular_file(name, ec)) return name;
  std::vector<std::string> names = {name};
  if (fs::path(name).extension() != ".yaml" && fs::path(name).extension() != ".yml") names.push_back(name + ".yaml");
  // <folder>_<file>: every underscore is a candidate split (fashion_mnist_teacher.yaml).
  const size_t n = names.size();
  for (size_t k = 0; k < n && name.find('/') == std::string::npos; ++k)
    for (size_t at = names[k].find('_'); at != std::string::npos; at = names[k].find('_', at + 1))
      names.push_back(names[k].substr(0, at) + "/" + names[k].substr(at + 1));
  std::string tried = name;
  for (const auto& dir : shipped_config_dirs())
    for (const auto& candidate : names) {
      const fs::path p = fs::path(dir) / candidate;
      if (fs::is_regular_file(p, ec)) {
        spdlog::info("--config {}: using the shipped config {}", name, p.string());
        return p.string();
      }
      tried += ", " + p.string();
    }
  throw Error("--config: '" + name + "' is neither a file nor a shipped config (tried " + tried +
              "; `kdprune info` lists the shipped configs)");
}

}  // namespace kdprune
