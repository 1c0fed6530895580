// Keys of an experiment's base config that `kdprune run` sets in every stage that reads them: a
// value given there is never used, so it is named with the experiment key to set instead.
#include <yaml-cpp/yaml.h>

#include "kdprune/pipeline/experiment.h"

namespace kdprune::pipeline {
namespace {

bool has_key(const YAML::Node& root, const std::string& key) {
  const auto dot = key.find('.');
  const YAML::Node section = root[key.substr(0, dot)];
  return section && section.IsMap() && section[key.substr(dot + 1)];
}

}  // namespace

namespace {
// The keys kdprune run sets in every stage that reads them, and the experiment key to use instead.
const std::vector<std::pair<const char*, const char*>>& per_stage_keys() {
  static const std::vector<std::pair<const char*, const char*>> per_stage = {
      {"data.fraction", "experiment.fractions (the students' kept fraction f) or experiment.teacher_fractions (f_t)"},
      {"data.subset", "experiment.pruners: [{name: LABEL, scores: FILE}] (scores) or a teacher/student override"},
      {"prune.fraction", "experiment.fractions"},
      {"prune.method", "experiment.pruners"},
      {"prune.level", "experiment.pruners: [{name: ..., level: easy}]"},
      {"prune.class_balanced", "experiment.pruners: [{name: ..., class_balanced: true}]"},
      {"prune.sampling", "experiment.pruners: [{name: ..., sampling: ccs}]"},
      {"prune.cutoff", "experiment.pruners: [{name: ..., cutoff: 0.3}]"},
      {"prune.seed", "experiment.seeds"},
      {"score.method", "experiment.pruners (a scored pruner adds its score stage)"},
      {"kd.alpha", "experiment.alphas"},
      {"kd.teacher", "experiment.teacher_models"},
  };
  return per_stage;
}
}  // namespace

std::string experiment_key_instead(const std::string& key, bool teacher) {
  if (teacher && key == "model.arch") return "experiment.teacher_archs";
  if (teacher && key == "data.fraction") return "experiment.teacher_fractions";
  if (key == "run.seed") return "experiment.seeds";
  if (key == "run.name" || key == "run.root") return "experiment.name (the stages' names and folder are kdprune run's)";
  if (key == "data.split" || key == "data.split_seed" || key == "data.part") return "experiment.disjoint_split and experiment.teacher_part";
  for (const auto& [k, instead] : per_stage_keys())
    if (key == k) return instead;
  return {};
}

std::vector<std::string> ignored_base_keys(const Experiment& e, const std::vector<std::string>& overrides) {
  const auto& per_stage = per_stage_keys();
  const YAML::Node root = YAML::Load(e.base_yaml);
  std::vector<std::string> out;
  for (const auto& [key, instead] : per_stage) {
    if (!has_key(root, key)) continue;
    if (std::string(key) == "kd.alpha" && e.alphas_from_base) continue;  // then it is the KD students' alpha
    std::string where = e.file;
    for (const auto& o : overrides)
      if (o.rfind(std::string(key) + "=", 0) == 0) where = "override '" + o + "'";
    out.push_back(std::string(key) + " (" + where + ") is set by kdprune run in every stage that reads it, so this value "
                  "is not used; set " + instead + " instead");
  }
  return out;
}

}  // namespace kdprune::pipeline
