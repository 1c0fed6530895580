#include "kdprune/pipeline/stage_state.h"

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>

#include "kdprune/config/config.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/util/error.h"
#include "kdprune/io/run_dir.h"
#include "kdprune/util/hash.h"
#include "kdprune/io/file_digest.h"
#include "kdprune/pipeline/experiment.h"
#include "kdprune/pipeline/stage_identity.h"

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

namespace {
constexpr int kRecordVersion = 3;  // 3: run-only keys out, paths by what they name, output digests

std::optional<nlohmann::json> read_record(const std::string& run_dir) {
  const std::string path = run_dir + "/stage.json";
  if (!fs::exists(path)) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(io::read_file(path));
    if (!j.is_object()) return std::nullopt;
    return j;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a damaged record only costs a recomputation
  } catch (const Error&) {
    return std::nullopt;
  }
}

int algorithm_of(const std::string& command) {
  for (StageKind k : {StageKind::teacher, StageKind::score, StageKind::prune, StageKind::student})
    if (command == command_of(k)) return algorithm_version(k);
  return 1;
}
}  // namespace

namespace {
using Record = std::optional<nlohmann::json>;

std::string fingerprint_in(const Record& j) {
  // Older versions keyed on the whole config or on path spellings: such a record counts as none,
  // so the stage is adopted when its config still matches.
  if (!j || j->value("version", 1) < kRecordVersion) return "";
  return j->value("fingerprint", "");
}

// The first file of the record's `field` (names in `dir` and their digests) that is missing or
// whose content differs, said for the plan; "" when every one is as recorded (or none is).
std::string first_changed(const Record& j, const char* field, const std::string& dir) {
  if (!j || !j->contains(field) || !(*j)[field].is_object()) return "";
  for (const auto& [name, digest] : (*j)[field].items()) {
    const std::string path = dir + "/" + name;
    if (!fs::exists(path)) return name + " is missing";
    if (!digest.is_string() || io::file_digest(path) != digest.get<std::string>())
      return name + " changed since the stage finished (its content digest differs)";
  }
  return "";
}
}  // namespace

std::string recorded_fingerprint(const std::string& run_dir) { return fingerprint_in(read_record(run_dir)); }

bool consumed_unchanged(const std::string& run_dir, const std::string& experiment_dir) {
  const Record j = read_record(run_dir);
  return j && j->contains("consumed") && first_changed(j, "consumed", experiment_dir).empty();
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

// A run's config.yaml read back; keys the file lacks (written by an older kdprune) take their
// baseline values, the defaults of that time, not today's: a stage made before a default changed
// does not pass for a new one. None when it is missing or unreadable.
std::optional<Config> started_config(const std::string& run_dir) {
  const std::string path = run_dir + "/config.yaml";
  if (!fs::exists(path)) return std::nullopt;
  try {
    YAML::Node merged = YAML::Load(to_yaml(yaml_changes_baseline()));
    const YAML::Node file = YAML::LoadFile(path);
    if (!file.IsMap()) return std::nullopt;
    overlay(merged, file);
    return load_config_text(YAML::Dump(merged), path, {});
  } catch (const Error&) {
    return std::nullopt;  // written by an incompatible version: treat as a different config
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
}

// Whether a run's config (`started`, its config.yaml read back) is the config `planned` (compared in
// their changes_of form). The precision `planned` leaves to auto is the one the run started with
// (it resumes in it: keep_started_precision).
bool same_config(const Config& started, Config planned, const std::function<std::string(const Config&)>& changes_of) {
  keep_started_precision(planned.train, started.train);
  return changes_of(started) == changes_of(planned);
}

std::string how_trained(const TrainSection& t) { return "trained with amp " + t.amp.name() + ", channels_last " + t.channels_last.name(); }

// A finished stage's fingerprint reads train.amp=auto as the fp32 of the time before auto (so
// stages made then are reused), which an explicit precision can share: "amp off, channels_last
// false" asks for fp32, and a run that auto trained in bf16 is not that. Says how the run trained
// where `planned` explicitly asks otherwise, in a way that matters to the stage ("" otherwise).
std::string precision_asked_otherwise(const Config& started, const Config& planned,
                                      const std::function<std::string(const Config&)>& changes_of) {
  Config as_run = planned;
  auto& t = as_run.train;
  const auto& s = started.train;
  // Recorded "auto": a stage that never resolved precision (it trains nothing).
  if (t.amp != "auto" && s.amp != "auto") t.amp = s.amp;
  if (t.channels_last != "auto" && s.channels_last != "auto") t.channels_last = s.channels_last;
  if (changes_of(as_run) == changes_of(planned)) return "";
  return how_trained(s) + "; the config asks for amp " + planned.train.amp.name() + ", channels_last " + planned.train.channels_last.name();
}

// train.amp=auto accepts a finished stage in whatever precision it trained, as it does the stages
// of before auto (fp32): one that ran with an explicit precision (the shipped configs said bf16
// until auto) is kept when its fingerprint, taken with that precision for auto's, is the recorded
// one. Says how it trained ("" when that does not make the fingerprints agree).
std::string precision_auto_keeps(const Config& started, const Config& planned, const std::string& key_text,
                                 const std::function<std::string(const Config&)>& changes_of,
                                 const std::function<std::string(const std::string&)>& fingerprint_of,
                                 const std::string& recorded) {
  Config as_run = planned;
  keep_started_precision(as_run.train, started.train);
  const std::string now = changes_of(planned), then = changes_of(as_run);
  if (then == now || key_text.rfind(now, 0) != 0) return "";
  if (fingerprint_of(then + key_text.substr(now.size())) != recorded) return "";
  return how_trained(started.train) + ", which train.amp=auto keeps";
}

}  // namespace

void record_fingerprint(const std::string& run_dir, const std::string& command, const std::string& fingerprint,
                        const std::vector<std::string>& consumed, const std::string& experiment_dir) {
  nlohmann::json outputs = nlohmann::json::object(), read = nlohmann::json::object();
  for (const auto& name : output_files(run_dir)) outputs[name] = io::file_digest(run_dir + "/" + name);
  for (const auto& name : consumed) read[name] = io::file_digest(experiment_dir + "/" + name);
  const nlohmann::json j = {{"command", command},         {"fingerprint", fingerprint},
                            {"version", kRecordVersion},  {"algorithm", algorithm_of(command)},
                            {"outputs", outputs},         {"consumed", read},
                            {"recorded_at", io::utc_timestamp()}};
  io::write_file_atomic(run_dir + "/stage.json", j.dump(2) + "\n");
}

StageState stage_state(const std::string& run_dir, const std::string& command, const std::string& key_text,
                       const Config& planned, const std::vector<std::string>& input_fingerprints,
                       bool can_resume, bool inputs_changed,
                       const std::function<std::string(const Config&)>& changes_of) {
  const auto fingerprint_of = [&](const std::string& text) {
    std::string key = command + "\n" + text;
    for (const auto& f : input_fingerprints) key += "\n" + f;
    return hex64(fnv1a64(key));
  };
  StageState s;
  s.fingerprint = fingerprint_of(key_text);
  if (!fs::exists(run_dir)) {
    s.reason = "new";
    return s;
  }
  const auto started = started_config(run_dir);  // read once: every rule below compares with it
  const bool same = started && same_config(*started, planned, changes_of);
  if (io::RunDir::is_finished(run_dir)) {
    const Record record = read_record(run_dir);  // read once: the rules below all look at it
    const std::string recorded = fingerprint_in(record);
    const std::string precision =
        started && recorded == s.fingerprint ? precision_asked_otherwise(*started, planned, changes_of) : "";
    const std::string kept = !started || recorded.empty() || recorded == s.fingerprint || inputs_changed
                                 ? ""
                                 : precision_auto_keeps(*started, planned, key_text, changes_of, fingerprint_of, recorded);
    const int recorded_algorithm = record ? record->value("algorithm", 1) : 1;
    const int algorithm = algorithm_of(command);
    const std::string damage = recorded == s.fingerprint || !kept.empty() ? first_changed(record, "outputs", run_dir) : "";
    if (inputs_changed) {
      s.action = StageAction::rerun;
      s.reason = "an input stage runs again";
    } else if (!damage.empty()) {
      s.action = StageAction::rerun;
      s.reason = "finished, but " + damage;
    } else if (!recorded.empty() && recorded_algorithm != algorithm) {
      s.action = StageAction::rerun;
      s.discards_finished = true;
      s.reason = "kdprune computes " + command + " stages differently since it finished (algorithm version " +
                 std::to_string(recorded_algorithm) + " -> " + std::to_string(algorithm) + ")";
    } else if (recorded == s.fingerprint && precision.empty()) {
      s.action = StageAction::reuse;
      s.reason = "finished, inputs unchanged";
    } else if (recorded == s.fingerprint) {
      s.action = StageAction::rerun;
      s.discards_finished = true;
      s.reason = "finished, but " + precision;
    } else if (!kept.empty()) {
      // Its true fingerprint is the recorded one: the stages that read it recorded that one too.
      s.action = StageAction::reuse;
      s.fingerprint = recorded;
      s.reason = "finished, inputs unchanged; " + kept;
    } else if (recorded.empty() && same) {
      s.action = StageAction::reuse;
      s.reason = "finished, same config, no current fingerprint (run by hand or by an older kdprune)";
      s.adopted = true;
    } else if (!started) {
      s.action = StageAction::rerun;
      s.reason = "finished, but its config.yaml is missing or unreadable";
    } else {
      s.action = StageAction::rerun;
      s.discards_finished = true;
      Config as_run = planned;
      keep_started_precision(as_run.train, started->train);
      const auto keys = changed_keys(changes_of(*started), changes_of(as_run));
      std::string list;
      for (const auto& k : keys) list += (list.empty() ? "" : "; ") + k;
      s.reason = keys.empty() ? "finished, but what it reads changed (an input's fingerprint or the score file differs)"
                              : "changed: " + list;
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
