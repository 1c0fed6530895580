#include <yaml-cpp/yaml.h>

#include <optional>

#include "kdprune/config/config.h"

// The identity of a config for stage fingerprints: its keys that differ from a fixed baseline.
namespace kdprune {

namespace {
// The leaves of `cur` that differ from `def` (same shape); nullopt when nothing differs.
std::optional<YAML::Node> changed_leaves(const YAML::Node& cur, const YAML::Node& def) {
  if (cur.IsMap() && def.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& kv : cur) {
      const std::string key = kv.first.Scalar();
      const YAML::Node d = def[key];
      const auto c = d ? changed_leaves(kv.second, d) : std::optional<YAML::Node>(kv.second);
      if (c) out[key] = *c;
    }
    if (out.size() == 0) return std::nullopt;
    return out;
  }
  if (YAML::Dump(cur) == YAML::Dump(def)) return std::nullopt;
  return cur;
}
}  // namespace

const Config& yaml_changes_baseline() {
  static const Config baseline = [] {
    Config c;
    c.prune.sampling = "topk";  // the default until prune.sampling=auto
    return c;
  }();
  return baseline;
}

std::string to_yaml_changes(const Config& config) {
  static const YAML::Node baseline = YAML::Load(to_yaml(yaml_changes_baseline()));
  const auto diff = changed_leaves(YAML::Load(to_yaml(config)), baseline);
  if (!diff) return "";
  YAML::Emitter out;
  out << *diff;
  return std::string(out.c_str()) + "\n";
}

}  // namespace kdprune
