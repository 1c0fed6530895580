// libFuzzer harness: YAML config loader with `a.b=c` overrides, src/config/*.cpp.
//
// Input: NUL-separated parts: the YAML text, then up to 8 override strings ("train.epochs=3").
// A config that loads is also written back with to_yaml() and must load again to the same text
// (the resolved config.yaml of a run directory is reloaded on resume). Inputs that contain
// "experiment" also go through load_experiment(path, overrides) and plan(), as `kdprune run` does.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "kdprune/config/config.h"
#include "kdprune/pipeline/experiment.h"
#include "kdprune/util/error.h"

using namespace kdprune;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kdprune_fuzz::scratch_dir("config");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t nul = in.find('\0', start);
    parts.emplace_back(in.substr(start, nul == std::string_view::npos ? std::string_view::npos : nul - start));
    if (nul == std::string_view::npos) break;
    start = nul + 1;
  }
  const std::string yaml = parts[0];
  std::vector<std::string> overrides;
  for (size_t i = 1; i < parts.size() && overrides.size() < 8; ++i) overrides.push_back(parts[i]);
  // An experiment file (`kdprune run`, src/pipeline/experiment_section.cpp, experiment_plan.cpp): load_experiment splits off
  // the `experiment` section and reads it; plan() lists the stages, and the stage configs are
  // loaded as run_experiment does up front (first 64 stages). Only for inputs that name it.
  if (yaml.find("experiment") != std::string::npos) {
    const std::string path = kdprune_fuzz::write_file("experiment.yaml", yaml);
    try {
      const pipeline::Experiment e = pipeline::load_experiment(path, overrides);
      const std::vector<pipeline::Stage> stages = pipeline::plan(e);
      kdprune_fuzz::accepted("load_experiment: " + std::to_string(stages.size()) + " stages");
      // As run_experiment does before it starts anything: every stage's config (may be refused).
      for (size_t i = 0; i < stages.size() && i < 64; ++i) {
        (void)pipeline::command_line(stages[i], "base.yaml");
        (void)load_config_text(e.base_yaml, e.file, stages[i].overrides);
      }
    } catch (const Error& e) {
      kdprune_fuzz::refused(e);
    }
  }
  Config config;
  try {
    config = load_config_text(yaml, "fuzz.yaml", overrides);
  } catch (const Error& e) {
    kdprune_fuzz::refused(e);
    return 0;
  }
  kdprune_fuzz::accepted("config: model.arch " + config.model.arch + ", data.name " + config.data.name);
  // Consumers of a loaded config: these must not throw anything.
  (void)config.kd.alpha.at(0.1);
  (void)config.kd.alpha.at(0.5);
  (void)config.kd.alpha.at(1.0);
  (void)parse_shard(config.score.shard);
  (void)to_yaml_changes(config);
  const std::string text = to_yaml(config);
  std::string again;
  try {
    again = to_yaml(load_config_text(text, "resolved.yaml", {}));
  } catch (const Error& e) {
    FUZZ_CHECK(false, std::string("to_yaml() output does not load again: ") + e.what() + "\n--- to_yaml:\n" + text);
  }
  FUZZ_CHECK(again == text, "to_yaml(load(to_yaml(c))) differs from to_yaml(c):\n--- first:\n" + text + "--- second:\n" + again);
  return 0;
}
