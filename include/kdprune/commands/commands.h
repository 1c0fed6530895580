#pragma once
// What each subcommand does, as library calls; src/cli/ only parses arguments and prints.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kdprune/config/config.h"

namespace kdprune::commands {

struct CommandOptions {
  std::string config_path;             // --config (empty: defaults)
  std::vector<std::string> overrides;  // trailing section.key=value
  bool force = false;                  // --force: overwrite an existing run directory
  bool resume = false;                 // --resume: continue the unfinished run of the same run.name
};

// Trains a model on the training view of data.* and writes model.pt, metrics.csv, summary.json
// into a new run directory. Returns the summary.
nlohmann::json train_teacher(const CommandOptions& opts);

// Trains a student on the training view (a pruned subset) with (1-α)·CE + α·KD from kd.teacher,
// α possibly a function of the kept fraction f. Same outputs as train_teacher, plus the KD
// settings actually used in summary.json.
nlohmann::json distill(const CommandOptions& opts);

// Several students trained together in lock-step (train::fit_group): one batch and, for the
// students of the same kd.teacher file, one teacher forward per step, shared; each student its own
// run directory, checkpoints and summary, and the same result as distill() alone. Which configs
// may train together is trainable_together's rule (src/commands/session.h: the keys a config
// declares per_student or view, key_roles.h); e.g. the α values of one f, several KD losses, or an
// α × f × seed grid.
std::vector<nlohmann::json> distill_together(const std::vector<CommandOptions>& opts);

// distill_together over α values: run.name (or distill-<time>) + "-alpha<α>" for each.
// The α values as given ("0.5"); numbers >= 0, no repeats.
std::vector<nlohmann::json> distill_alphas(const CommandOptions& opts, const std::vector<std::string>& alphas);

// Computes one score per training sample (score.method: a scorer of scoring::scorer_registry(),
// `kdprune info` lists them) from score.models models of model.arch trained for score.epochs;
// writes scores.npy (float32), scores.csv and scores.json into a new run directory.
// With score.checkpoint (or `checkpoint`, which sets it: `kdprune score --checkpoint FILE`), the
// methods that are functions of one model (Scorer::one_model) score that model file instead of
// training one, through the same inference; its architecture is the file's.
nlohmann::json score(const CommandOptions& opts, const std::string& checkpoint = "");

// Selects the kept subset (prune.fraction of the pool: the training set or a data.split part) by
// scores (`scores`, or prune.scores) at prune.level, or by random / class-balanced random
// pruning; writes subset.npy (int64, ascending) and subset.json into a new run directory.
nlohmann::json prune_subset(const CommandOptions& opts, const std::string& scores);

// model.pt -> a PyTorch file (default: beside it, .pth) that torch.load(..., weights_only=True) reads.
nlohmann::json export_model(const std::string& checkpoint, const std::string& out_path);

// Evaluates a model.pt on the test split: top-1/top-5, loss, per-class accuracy. The dataset is
// the one recorded in the checkpoint unless data.name is set. Writes the JSON atomically to
// `out_path` (default: eval.json beside the checkpoint) and returns it.
// `checkpoint`: a kdprune model.pt, or a PyTorch state_dict file whose architecture is `arch`
// ("" = the file's own "arch" entry, else inferred from its shapes).
nlohmann::json eval_model(const CommandOptions& opts, const std::string& checkpoint, const std::string& out_path,
                          const std::string& arch = "");

// `kdprune run`: the whole experiment of a run file (config sections + `experiment`), stage by
// stage; a stage whose inputs did not change since it finished is reused, an interrupted training
// stage resumes. Writes <run.root>/<name>/results.csv once every student has finished.
struct ExperimentOptions {
  bool dry_run = false;           // only plan: print each stage's action and command
  bool print_jobs = false;        // do not run the selected stages: list their command lines
  bool rerun_changed = false;     // rerun finished stages whose config changed (else the run stops first)
  std::vector<std::string> only;  // stage kinds to run (teacher, score, prune, student); empty = all
  std::string program = "kdprune";  // the binary named in printed command lines
  std::string metric = "best";      // the table's accuracy: best over the evaluated epochs, or last
  std::string worker;               // "i/n": train only the students dealt to worker i of n ("" = all)
};
struct ExperimentReport {
  std::string plan;          // one line per stage: action, name, reason, then its command
  std::string jobs;          // --print-jobs: one command line per stage still to run
  std::string table;         // the accuracy table ("" until every student has finished)
  std::string results_path;  // results.csv ("" until every student has finished)
  size_t executed = 0, reused = 0, skipped = 0;
  size_t others = 0;         // --worker: students dealt to the other workers
  std::string progress;      // unfinished students remain: "k of N students finished ..." ("" otherwise)
};
ExperimentReport run_experiment(const CommandOptions& opts, const ExperimentOptions& x);

// `kdprune results DIR...`: results rows of finished student runs (directories, or folders that
// contain them), written as CSV to `out_path` when given; returns the accuracy table.
std::string collect_results(const std::vector<std::string>& dirs, const std::string& out_path,
                            const std::string& metric = "best");

// `kdprune info`: versions, devices, registries.
std::string info_report();
// `kdprune info --dataset NAME`: sizes, shape, classes, histogram, normalisation.
std::string dataset_report(const CommandOptions& opts);

}  // namespace kdprune::commands
