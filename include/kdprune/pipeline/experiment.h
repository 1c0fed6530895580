#pragma once
// `kdprune run`: one YAML file describes a whole experiment. Its config sections (run, data,
// model, train, kd, prune, score) are the base every stage starts from; its `experiment` section
// lists what to vary. The plan is a list of stages, each an ordinary subcommand run (train-teacher,
// score, prune, distill) given as overrides on that base, so any stage can be rerun by hand.
#include <cstdint>
#include <string>
#include <vector>

#include "kdprune/prune/pruner_registry.h"

namespace kdprune::pipeline {

struct PrunerSpec {
  std::string name;             // random | class_balanced_random | a `kdprune score` method | a label
  std::string level = "hard";   // hard | easy | moderate (score-based only)
  bool class_balanced = false;
  std::string scores;           // an existing score file; "" = computed by a score stage
  std::string sampling = "auto";  // auto | topk (by level) | ccs | beta | d2 (prune.sampling)
  double cutoff = 0.0;          // ccs, d2: the hardest fraction dropped first
  bool score_free() const { return prune::score_free(name); }
  std::string label() const;    // name, plus "-<level>", "-cb", "-<sampling>[<cutoff>]" where not the default
};

// A further grid axis over any config key of the students (or teachers): each value makes its
// own stages, crossed with the other axes.
struct Axis {
  std::string key;                  // dotted, e.g. "kd.tau"
  std::vector<std::string> values;  // as YAML flow text, e.g. "2", "resnet20"
};

struct Experiment {
  std::string file;                        // the YAML file, for messages
  std::string name;                        // the experiment directory is <root>/<name>
  std::string root;
  std::string base_yaml;                   // the config sections, overrides applied, paths resolved
  bool alphas_from_base = false;           // no experiment.alphas: 0 and the base's kd.alpha
  std::vector<int64_t> seeds{0};           // student seeds (also random pruning's seed)
  int64_t base_seed = 0;                   // run.seed of the base: teachers, scores and the split
  bool data_from_seed = false;             // the dataset is drawn from run.seed (synthetic, no data.synthetic.seed)
  std::vector<std::string> teacher_archs;  // empty: the teacher overrides' model.arch
  std::vector<std::string> teacher_models; // existing teachers' model.pt: no teacher stages
  // Each teacher_models file's architecture as the file says or its shapes show ("" unknown),
  // filled by the command (reading a model file is not the plan's job): the teacher's label.
  std::vector<std::string> teacher_model_archs;
  std::vector<double> teacher_fractions{1.0};  // f_t: the teacher's data.fraction
  double disjoint_split = 0.0;             // > 0: teachers on that share, students pruned from the rest
  std::string teacher_part = "teacher";    // with a split: "student" trains the teachers on the
                                           // students' part instead (the non-disjoint control)
  std::vector<std::string> teacher_overrides, score_overrides, student_overrides;  // "a.b=c"
  std::vector<PrunerSpec> pruners;
  std::vector<double> fractions;           // kept fractions f of the students' pool
  std::vector<std::string> alphas;         // each a number or an α(f) schedule, as YAML flow text
  std::vector<Axis> axes;                  // experiment.axes: over the students' keys
  std::vector<Axis> teacher_axes;          // experiment.teacher_axes: over the teachers' keys
  int64_t group_students = 64;             // most students trained together (<= 1: one at a time); train.group_max caps by memory

  std::string dir() const { return root + "/" + name; }
};

// The experiment key to use instead of setting `key` (a key kdprune run sets in the stages that
// read it: data.fraction -> experiment.fractions, ...); "" for any other key. `teacher`: as a
// teacher-stage key (model.arch -> experiment.teacher_archs).
std::string experiment_key_instead(const std::string& key, bool teacher = false);

// A stage-name part for an axis value: the key's last part and the value ("tau2", "arch-resnet20").
std::string axis_label(const std::string& key, const std::string& value);

// Reads the file with `overrides` ("experiment.fractions=[0.1]" or any config key). Errors name
// the file and the experiment key.
Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides);

enum class StageKind { teacher, score, prune, student };
const char* command_of(StageKind kind);  // the subcommand that runs a stage of this kind
const char* kind_name(StageKind kind);   // teacher, score, prune, student (kdprune run --only)

struct Stage {
  StageKind kind;
  std::string name;                    // run.name inside the experiment directory
  std::vector<std::string> overrides;  // on the base config; run.root and run.name included
  std::string scores_file;             // prune stages: the score file (--scores)
  std::vector<size_t> inputs;          // earlier stages whose artifacts this one reads
  double fraction = 1.0;               // students: the kept fraction f (their share of the pool)
};

// Teachers, then scores, then subsets, then students; every stage after its inputs.
std::vector<Stage> plan(const Experiment& e);

// The command line that runs `stage` by hand (base.yaml is the experiment's base config file).
std::string command_line(const Stage& stage, const std::string& base_yaml_path);

std::string format_number(double v);  // shortest text that reads back the same, for names

// The base keys (file or overrides) that every stage reading them sets itself, each as a
// message naming the key, where it was set and the experiment key to use instead.
std::vector<std::string> ignored_base_keys(const Experiment& e, const std::vector<std::string>& overrides);

}  // namespace kdprune::pipeline
