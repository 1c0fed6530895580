#include "kdprune/pipeline/stage_state.h"

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "kdprune/config/config.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/util/error.h"
#include "kdprune/io/run_dir.h"
#include "kdprune/util/hash.h"

namespace kdprune::pipeline {
namespace fs = std::filesystem;

const char* action_name(StageAction a) {
  switch (a) {
    case StageAction::reuse: return "reuse";
    case StageAction::resume: return "resume";
    case StageAction::run: return "run";
    case StageAction::rerun: return "rerun";
  }
  return "";
}

std::string recorded_fingerprint(const std::string& run_dir) {
  const std::string path = run_dir + "/stage.json";
  if (!fs::exists(path)) return "";
  try {
    const auto j = nlohmann::json::parse(io::read_file(path));
    // Version 1 keyed on the whole config, which every added key changed: such a record counts
    // as none, so the stage is adopted when its config still matches.
    if (j.value("version", 1) < 2) return "";
    return j.value("fingerprint", "");
  } catch (const nlohmann::json::exception&) {
    return "";  // a damaged record only costs a recomputation
  }
}

namespace {
// `over` laid on `base`, key by key (mappings merged, everything else replaced).
void overlay(YAML::Node base, const YAML::Node& over) {
  for (const auto& kv : over) {
    const std::string key = kv.first.Scalar();
    YAML::Node b = base[key];
    if (b && b.IsMap() && kv.second.IsMap()) overlay(b, kv.second);
    else base[key] = kv.second;
  }
}
}  // namespace

// Whether a run's config.yaml is the config `planned` (compared in their changes_of form); false
// when it is missing or unreadable. Keys the file lacks (written by an older kdprune) take their
// baseline values, the defaults of that time, not today's: a stage made before a default changed
// does not pass for a new one. The precision `planned` leaves to auto is the one the run started
// with (it resumes in it: keep_started_precision).
bool same_config(const std::string& run_dir, Config planned, const std::function<std::string(const Config&)>& changes_of) {
  const std::string path = run_dir + "/config.yaml";
  if (!fs::exists(path)) return false;
  try {
    YAML::Node merged = YAML::Load(to_yaml(yaml_changes_baseline()));
    const YAML::Node file = YAML::LoadFile(path);
    if (!file.IsMap()) return false;
    overlay(merged, file);
    const Config started = load_config_text(YAML::Dump(merged), path, {});
    keep_started_precision(planned.train, started.train);
    return changes_of(started) == changes_of(planned);
  } catch (const Error&) {
    return false;  // written by an incompatible version: treat as a different config
  } catch (const YAML::Exception&) {
    return false;
  }
}

void record_fingerprint(const std::string& run_dir, const std::string& command, const std::string& fingerprint) {
  const nlohmann::json j = {{"command", command}, {"fingerprint", fingerprint}, {"version", 2}, {"recorded_at", io::utc_timestamp()}};
  io::write_file_atomic(run_dir + "/stage.json", j.dump(2) + "\n");
}

StageState stage_state(const std::string& run_dir, const std::string& command, const std::string& key_text,
                       const Config& planned, const std::vector<std::string>& input_fingerprints,
                       bool can_resume, bool inputs_changed,
                       const std::function<std::string(const Config&)>& changes_of) {
  std::string key = command + "\n" + key_text;
  for (const auto& f : input_fingerprints) key += "\n" + f;
  StageState s;
  s.fingerprint = hex64(fnv1a64(key));
  if (!fs::exists(run_dir)) {
    s.reason = "new";
    return s;
  }
  const bool same = same_config(run_dir, planned, changes_of);
  if (io::RunDir::is_finished(run_dir)) {
    const std::string recorded = recorded_fingerprint(run_dir);
    if (recorded == s.fingerprint) {
      s.action = StageAction::reuse;
      s.reason = "finished, inputs unchanged";
    } else if (recorded.empty() && same && !inputs_changed) {
      s.action = StageAction::reuse;
      s.reason = "finished, same config, no current fingerprint (run by hand or by an older kdprune)";
      s.adopted = true;
    } else {
      s.action = StageAction::rerun;
      s.reason = inputs_changed ? "an input stage runs again" : "config or inputs changed";
    }
    return s;
  }
  // Unfinished: continue from the checkpoint when nothing it depends on changed.
  // Progress worth keeping: a training checkpoint, or memorization's finished per-model outcomes.
  const bool progress = fs::exists(run_dir + "/checkpoint.pt") || fs::exists(run_dir + "/memorization");
  if (can_resume && same && !inputs_changed && progress) {
    s.action = StageAction::resume;
    s.reason = "interrupted, continues from its checkpoint";
  } else {
    s.action = StageAction::rerun;
    s.reason = "interrupted, starts over";
  }
  return s;
}

}  // namespace kdprune::pipeline
