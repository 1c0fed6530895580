#pragma once
// What a stage of `kdprune run` is, for its fingerprint: the keys its command reads that change
// its result (run-only keys never, key_roles.h), paths replaced by what they name (a file inside
// the experiment by its place there, an outside file by its content), and the stage kind's
// algorithm version. The same view names the keys that differ when a finished stage would rerun.
#include <string>
#include <vector>

#include "kdprune/config/config.h"
#include "kdprune/pipeline/experiment.h"

namespace kdprune::pipeline {

// Bumped when kdprune changes what a stage of this kind computes from the same config, so a
// stage made before is not taken for a current one (the plan names the version change).
int algorithm_version(StageKind kind);

// `value` of a path key as the fingerprint sees it: "" stays ""; a path inside `experiment_dir`
// becomes "<experiment>/<relative path>" (a moved or respelled experiment folder keeps it; its
// content is the producing stage's, which the fingerprint covers); an outside file becomes its
// content digest; anything else (a folder, a file not there yet) its absolute, normalised path.
std::string path_identity(const std::string& value, const std::string& experiment_dir);

// The config as the stage's fingerprint sees it: the keys its command does not read and the
// run-only keys at their baseline values, paths through path_identity.
Config identity_config(const Config& c, StageKind kind, const std::string& experiment_dir);

// The fingerprint text of identity_config (to_yaml_changes, plus revision notes of older scores).
std::string identity_text(const Config& c, StageKind kind, const std::string& experiment_dir);

// The keys whose values differ between two configs given as to_yaml_changes texts (identity_text),
// each as "key old -> new" (a key a text lacks has its baseline value).
std::vector<std::string> changed_keys(const std::string& before, const std::string& after);

// The files a stage reads from other stages or from outside: its path keys' values that name
// existing files inside the experiment, plus the score file. Relative to the experiment folder.
std::vector<std::string> consumed_files(const Config& c, const std::string& scores_file, const std::string& experiment_dir);

// The files of a finished run directory that its result is: model files, scores, subsets,
// summary.json and config.yaml (not logs, metrics or the checkpoint). File names only.
std::vector<std::string> output_files(const std::string& run_dir);

}  // namespace kdprune::pipeline
