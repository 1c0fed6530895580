#pragma once
// Whether a stage of `kdprune run` must run. A finished stage records a fingerprint of its inputs
// (its resolved config and the fingerprints of the stages it reads) in stage.json; a later run
// reuses it while the fingerprint matches, resumes an interrupted training stage from its
// checkpoint, and recomputes everything else.
#include <string>
#include <vector>

namespace kdprune::pipeline {

enum class StageAction { reuse, resume, run, rerun };
const char* action_name(StageAction a);

struct StageState {
  StageAction action = StageAction::run;
  std::string reason;       // for the plan: why this action
  std::string fingerprint;  // of this stage's inputs
};

// `resolved_yaml` is the stage's config as `to_yaml` writes it (config.yaml of the run);
// `can_resume`: the command supports --resume; `inputs_changed`: an input stage runs again now.
StageState stage_state(const std::string& run_dir, const std::string& command, const std::string& resolved_yaml,
                       const std::vector<std::string>& input_fingerprints, bool can_resume, bool inputs_changed);

// Reads the fingerprint a finished stage recorded ("" when none).
std::string recorded_fingerprint(const std::string& run_dir);
// Records it (stage.json, written atomically) once the stage has finished.
void record_fingerprint(const std::string& run_dir, const std::string& command, const std::string& fingerprint);

}  // namespace kdprune::pipeline
