#include "kdprune/pipeline/stage_identity.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "kdprune/config/key_roles.h"
#include "kdprune/io/file_digest.h"
#include "kdprune/prune/pruner_registry.h"

namespace kdprune::pipeline {
namespace fs = std::filesystem;

int algorithm_version(StageKind kind) {
  switch (kind) {
    case StageKind::teacher: return 1;
    case StageKind::score: return 1;
    case StageKind::prune: return 1;
    case StageKind::student: return 1;
  }
  return 1;
}

namespace {
fs::path normal(const std::string& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  if (ec) abs = p;
  const fs::path canon = fs::weakly_canonical(abs, ec);
  return (ec ? abs : canon).lexically_normal();
}

// `p` relative to `dir` when it lies inside it.
std::optional<std::string> inside(const fs::path& p, const fs::path& dir) {
  const fs::path rel = p.lexically_relative(dir);
  if (rel.empty() || *rel.begin() == "..") return std::nullopt;
  return rel.generic_string();
}

// A stage's config without the keys its command does not read, so that changing (or adding)
// those keeps the stage: selecting a subset reads neither the training recipe nor the models, nor
// the keys of another sampling; training reads none of the selection keys of `kdprune prune`.
// Keys left out are set to their baseline value (yaml_changes_baseline), which drops them from
// the config's changes.
Config relevant_keys(Config c, StageKind kind) {
  const Config& base = yaml_changes_baseline();
  // Memorization models always anneal within score.epochs: the schedule key does not reach them.
  if (kind != StageKind::score || c.score.method == "memorization") c.score.schedule_epochs = base.score.schedule_epochs;
  // Scoring covers the whole pool and selection reads no training: neither holds validation out.
  if (kind == StageKind::score || kind == StageKind::prune) c.data.val_split = base.data.val_split;
  if (kind == StageKind::prune) {
    c.train = base.train, c.model = base.model, c.kd = base.kd, c.score = base.score;
    auto& p = c.prune;
    const auto& d = base.prune;
    const bool any = p.sampling == "auto";
    if (!any && p.sampling != "d2")
      p.model = d.model, p.knn = d.knn, p.d2_gamma = d.d2_gamma, p.d2_beta = d.d2_beta, p.d2_graph = d.d2_graph,
      p.d2_per_class = d.d2_per_class;
    if (!any && p.sampling != "ccs" && p.sampling != "d2") p.cutoff = d.cutoff;
    if (!any && p.cutoff <= 0) p.cutoff_by = d.cutoff_by, p.aum = d.aum;
    if (!any && p.sampling != "ccs") p.strata = d.strata;
    if (!any && p.sampling != "beta") p.beta_cd = d.beta_cd, p.mean_prob = d.mean_prob;
    if (!p.class_balanced && !prune::class_balanced_pruner(p.method) && !(p.sampling == "d2" && p.d2_per_class))
      p.class_shares = d.class_shares;
    return c;
  }
  const PruneSection keep = c.prune;
  c.prune = base.prune;
  c.prune.method = keep.method, c.prune.fraction = keep.fraction, c.prune.level = keep.level;
  c.prune.class_balanced = keep.class_balanced, c.prune.class_shares = keep.class_shares;
  c.prune.scores = keep.scores, c.prune.seed = keep.seed;
  return c;
}

// Dotted key -> value text of a YAML mapping.
void flatten(const YAML::Node& n, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (n.IsMap()) {
    for (const auto& kv : n) flatten(kv.second, prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar(), out);
    return;
  }
  YAML::Emitter e;
  e << YAML::Flow << n;
  out[prefix] = e.c_str();
}
}  // namespace

std::string path_identity(const std::string& value, const std::string& experiment_dir) {
  if (value.empty()) return value;
  const fs::path p = normal(value);
  if (!experiment_dir.empty())
    if (auto rel = inside(p, normal(experiment_dir))) return "<experiment>/" + *rel;
  std::error_code ec;
  if (fs::is_regular_file(p, ec)) {
    const std::string digest = io::file_digest(p.string());
    if (!digest.empty()) return "<file content " + digest + ">";
  }
  return p.string();
}

Config identity_config(const Config& c, StageKind kind, const std::string& experiment_dir) {
  Config out = relevant_keys(c, kind);
  copy_keys(out, yaml_changes_baseline(), key_role::run_only);
  map_paths(out, [&](const std::string& key, const std::string& v) {
    return key_roles(key) & key_role::run_only ? v : path_identity(v, experiment_dir);
  });
  return out;
}

std::string identity_text(const Config& c, StageKind kind, const std::string& experiment_dir) {
  std::string changes = to_yaml_changes(identity_config(c, kind, experiment_dir));
  // Scores computed since the methods follow their reference code (forgetting's never-learned
  // rule, DUAL's unbiased std, Moderate's median, aum.npy beside them) differ from older ones
  // even where the schedule key does not tell them apart (score.schedule_epochs: -1).
  if (kind == StageKind::score && c.score.method != "memorization" && c.score.schedule_epochs == -1)
    changes += "# scores: reference revision 2\n";
  return changes;
}

std::vector<std::string> changed_keys(const std::string& before, const std::string& after) {
  static const std::map<std::string, std::string> baseline = [] {
    std::map<std::string, std::string> m;
    flatten(YAML::Load(to_yaml(yaml_changes_baseline())), "", m);
    return m;
  }();
  auto read = [](const std::string& text) {
    std::map<std::string, std::string> m = baseline;
    try {
      const YAML::Node n = YAML::Load(text);
      if (n.IsMap()) flatten(n, "", m);
    } catch (const YAML::Exception&) {
    }
    return m;
  };
  const auto a = read(before), b = read(after);
  std::vector<std::string> out;
  for (const auto& [key, value] : b) {
    const auto it = a.find(key);
    const std::string old = it == a.end() ? "(none)" : it->second;
    if (old != value) out.push_back(key + " " + old + " -> " + value);
  }
  return out;
}

std::vector<std::string> consumed_files(const Config& c, const std::string& scores_file, const std::string& experiment_dir) {
  std::vector<std::string> out;
  const fs::path dir = normal(experiment_dir);
  auto add = [&](const std::string& value) {
    if (value.empty()) return;
    std::error_code ec;
    const fs::path p = normal(value);
    if (!fs::is_regular_file(p, ec)) return;
    if (auto rel = inside(p, dir); rel && std::find(out.begin(), out.end(), *rel) == out.end()) out.push_back(*rel);
  };
  Config copy = c;  // path_members needs a mutable config; nothing is changed
  for (const auto& [member, key] : path_members(copy)) add(*member);
  add(scores_file);
  return out;
}

std::vector<std::string> output_files(const std::string& run_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir, ec)) {
    if (!e.is_regular_file(ec)) continue;
    const std::string name = e.path().filename().string();
    const std::string ext = e.path().extension().string();
    if (name.find(".tmp.") != std::string::npos || name == "checkpoint.pt") continue;
    if (ext == ".pt" || ext == ".pth" || ext == ".npy" || name == "summary.json" || name == "config.yaml") out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace kdprune::pipeline
