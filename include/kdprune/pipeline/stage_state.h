#pragma once
// Whether a stage of `kdprune run` must run. A finished stage records a fingerprint of its inputs
// (its resolved config and the fingerprints of the stages it reads) in stage.json; a later run
// reuses it while the fingerprint matches, resumes an interrupted training stage from its
// checkpoint, and recomputes everything else.
#include <functional>
#include <string>
#include <vector>

#include "kdprune/config/config.h"

namespace kdprune::pipeline {

enum class StageAction { reuse, resume, run, rerun };
const char* action_name(StageAction a);

struct StageState {
  StageAction action = StageAction::run;
  std::string reason;       // for the plan: why this action
  std::string fingerprint;  // of this stage's inputs
  bool adopted = false;     // reused without a recorded fingerprint (record it now)
  // A finished stage that reruns because what it computes changed (config keys, precision, the
  // kind's algorithm version): its result would be thrown away, which `kdprune run` does only
  // when asked (--rerun-changed). A damaged stage or one whose input runs again needs no consent.
  bool discards_finished = false;
};

// `key_text`: what the stage's result depends on (to_yaml_changes of its resolved config, possibly
// with irrelevant sections cleared, so keys added later with neutral defaults keep fingerprints);
// `planned`: the config the stage's run gets; `changes_of` it is compared with `changes_of` the
// run's config.yaml read back (to_yaml_changes, or a view that also drops keys the stage ignores),
// the precision it leaves to auto taken from the run (keep_started_precision). `can_resume`: the command supports --resume; `inputs_changed`: an
// input stage runs again now. A finished run without a recorded fingerprint (run by hand, e.g.
// from --print-jobs) is adopted when its config.yaml is the one expected and no input changed.
StageState stage_state(const std::string& run_dir, const std::string& command, const std::string& key_text,
                       const Config& planned, const std::vector<std::string>& input_fingerprints,
                       bool can_resume, bool inputs_changed,
                       const std::function<std::string(const Config&)>& changes_of = to_yaml_changes);

// Reads the fingerprint a finished stage recorded ("" when none, or one of an older record
// version, whose fingerprints were taken differently: such a stage is adopted when its config
// is the one planned).
std::string recorded_fingerprint(const std::string& run_dir);
// Records it (stage.json, written atomically) once the stage has finished, with the content
// digests of its outputs (output_files) and of the files it read (`consumed`, relative to
// `experiment_dir`), so a later reuse can check them.
void record_fingerprint(const std::string& run_dir, const std::string& command, const std::string& fingerprint,
                        const std::vector<std::string>& consumed = {}, const std::string& experiment_dir = "");
// Whether each file the stage recorded as read still has the digest it had then (false when
// the record has none).
bool consumed_unchanged(const std::string& run_dir, const std::string& experiment_dir);

}  // namespace kdprune::pipeline
