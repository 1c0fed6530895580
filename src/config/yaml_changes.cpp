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
    // Defaults that changed keep their old values here, so a stage made under the old default
    // does not look like one made under the new.
    c.prune.sampling = "topk";   // the default until prune.sampling=auto
    c.score.schedule_epochs = -1;  // scoring models annealed their schedule within score.epochs
    c.prune.d2_gamma = 0.1;      // D2's forward decay before it followed the reference (1.0)
    c.prune.d2_beta = 1.0;       // D2's reverse decay before it followed the reference (0.1)
    c.prune.d2_graph = "knn";    // D2 on out-edges only, over the whole pool
    c.prune.d2_per_class = false;
    c.prune.cutoff_by = "score";  // the CCS/D2 cut-off ranked by the selection score
    c.train.amp = "off";          // fp32, the precision before train.amp/channels_last=auto
    c.train.channels_last = "false";
    return c;
  }();
  return baseline;
}

std::string to_yaml_changes(const Config& config) {
  static const YAML::Node baseline = YAML::Load(to_yaml(yaml_changes_baseline()));
  // auto leaves the precision to the run, which keeps the one it started with: in an identity it
  // stands for the baseline's, so a stage made under the fp32 default keeps its identity.
  Config c = config;
  if (c.train.amp == "auto") c.train.amp = yaml_changes_baseline().train.amp;
  if (c.train.channels_last == "auto") c.train.channels_last = yaml_changes_baseline().train.channels_last;
  const auto diff = changed_leaves(YAML::Load(to_yaml(c)), baseline);
  if (!diff) return "";
  YAML::Emitter out;
  out << *diff;
  return std::string(out.c_str()) + "\n";
}

}  // namespace kdprune
