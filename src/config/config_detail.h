#pragma once
// What config.cpp (loading, overrides, paths), config_read.cpp (reading and checking) and
// config_write.cpp (the resolved-config writer) share.
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>

#include "kdprune/config/config.h"

namespace kdprune::config_detail {

// The first line of every resolved config: loading such a file keeps its paths as they are.
inline constexpr const char* kResolvedHeader =
    "# kdprune resolved config: relative paths here are relative to the directory kdprune ran in";

// Where a key's value came from, for error messages: the file, or the override that set it.
struct Sources {
  std::string file;                              // "" when no --config was given
  std::map<std::string, std::string> overrides;  // key path -> "a.b=c" as typed

  std::string where(const std::string& path) const {
    // The override that set this path or one of its parents wins over the file.
    for (std::string p = path;;) {
      if (auto it = overrides.find(p); it != overrides.end()) return "override '" + it->second + "'";
      auto dot = p.rfind('.');
      if (dot == std::string::npos) break;
      p.resize(dot);
    }
    return (file.empty() ? std::string("config") : file) + ": " + path;
  }
};

// A value for an error message: 'scalar', flow YAML, or "nothing".
std::string show(const YAML::Node& n);

// Reads the whole tree into a Config, checking every key's type and rule (schema.h) and refusing
// keys it does not know; errors name the key by `sources`.
Config read_config(const YAML::Node& root, const Sources& sources);

// Rules that involve more than one key.
void check_consistency(const Config& c, const Sources& s);

}  // namespace kdprune::config_detail
