// kdprune run's experiment file and plan: stages, their configs and names, and the file's errors,
// without training anything.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "kdprune/config/config.h"
#include "kdprune/data/dataset_registry.h"
#include "kdprune/data/train_view.h"
#include "kdprune/pipeline/experiment.h"
#include "kdprune/prune/stratified.h"
#include "kdprune/util/error.h"
#include "test_files.h"

namespace fs = std::filesystem;
using namespace kdprune;
using namespace kdprune::pipeline;
using kdprune::test::TempDir;
using kdprune::test::write_bytes;

namespace {
const char* kExperiment = R"(run: {root: ROOT, name: exp}
data: {name: synthetic}
train: {epochs: 2}
experiment:
  teacher: {train.epochs: 5}
  teacher_archs: [resnet8, resnet20]
  student: {model: {arch: resnet8}}
  pruners: [random, forgetting]
  fractions: [0.1, 1.0]
  alphas: [0, 0.5]
  seeds: [0, 1]
)";

std::string write_experiment(const TempDir& d, std::string text = kExperiment) {
  text.replace(text.find("ROOT"), 4, d.path());
  write_bytes(d.file("exp.yaml"), text);
  return d.file("exp.yaml");
}

std::string error_of(const std::string& path, const std::vector<std::string>& overrides) {
  try {
    load_experiment(path, overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const Stage& find(const std::vector<Stage>& s, const std::string& name) {
  auto it = std::find_if(s.begin(), s.end(), [&](const Stage& x) { return x.name == name; });
  if (it == s.end()) throw std::runtime_error("no stage " + name);
  return *it;
}
size_t index_of(const std::vector<Stage>& s, const std::string& name) { return &find(s, name) - s.data(); }
}  // namespace

TEST(Pipeline, PlanHasEveryStageOnceAfterItsInputs) {
  TempDir d;
  const Experiment e = load_experiment(write_experiment(d), {});
  const auto stages = plan(e);
  // 2 teachers, 1 score, prune: random per seed (2) + forgetting (1); students per (pruner, seed):
  // alpha 0 once + alpha 0.5 per teacher = 3 -> f=0.1: 2 pruners x 2 seeds x 3, f=1: 2 seeds x 3.
  EXPECT_EQ(stages.size(), 2u + 1u + 3u + 12u + 6u);
  for (size_t i = 0; i < stages.size(); ++i)
    for (size_t j : stages[i].inputs) EXPECT_LT(j, i) << stages[i].name;
  std::vector<std::string> names;
  for (const auto& s : stages) names.push_back(s.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end()) << "duplicate stage name";

  const auto& kd = find(stages, "student-forgetting-f0.1-a0.5-resnet20-s1");
  EXPECT_EQ(kd.kind, StageKind::student);
  EXPECT_EQ(kd.inputs, (std::vector<size_t>{index_of(stages, "teacher-resnet20"), index_of(stages, "prune-forgetting-f0.1")}));
  EXPECT_EQ(find(stages, "prune-forgetting-f0.1").inputs, std::vector<size_t>{index_of(stages, "score-forgetting")});
  EXPECT_EQ(find(stages, "prune-forgetting-f0.1").scores_file, d.path() + "/exp/score-forgetting/scores.npy");
  EXPECT_TRUE(find(stages, "student-random-f0.1-a0-s1").inputs ==
              std::vector<size_t>{index_of(stages, "prune-random-f0.1-s1")});  // no teacher without KD
  EXPECT_TRUE(find(stages, "student-none-f1-a0-s0").inputs.empty());

  // Each stage's overrides resolve to the config the stage needs.
  const Config student = load_config_text(e.base_yaml, e.file, kd.overrides);
  EXPECT_EQ(student.model.arch, "resnet8");
  EXPECT_EQ(student.train.epochs, 2);
  EXPECT_EQ(student.run.seed, 1);
  EXPECT_DOUBLE_EQ(student.kd.alpha.value, 0.5);
  EXPECT_EQ(student.kd.teacher, d.path() + "/exp/teacher-resnet20/model.pt");
  EXPECT_EQ(student.data.subset, d.path() + "/exp/prune-forgetting-f0.1/subset.npy");
  EXPECT_EQ(student.run.root, d.path() + "/exp");
  EXPECT_EQ(student.run.name, "student-forgetting-f0.1-a0.5-resnet20-s1");
  const Config teacher = load_config_text(e.base_yaml, e.file, find(stages, "teacher-resnet20").overrides);
  EXPECT_EQ(teacher.model.arch, "resnet20");
  EXPECT_EQ(teacher.train.epochs, 5);
  const Config random = load_config_text(e.base_yaml, e.file, find(stages, "prune-random-f0.1-s1").overrides);
  EXPECT_EQ(random.prune.method, "random");
  EXPECT_EQ(random.prune.seed, 1);
  EXPECT_DOUBLE_EQ(random.prune.fraction, 0.1);
  const Config nokd = load_config_text(e.base_yaml, e.file, find(stages, "student-random-f0.1-a0-s0").overrides);
  EXPECT_TRUE(nokd.kd.teacher.empty());
  EXPECT_NE(command_line(kd, "base.yaml").find("kdprune distill --config base.yaml"), std::string::npos);
}

TEST(Pipeline, TeacherFractionsDisjointSplitAndSchedules) {
  TempDir d;
  const std::string path = write_experiment(d);
  const Experiment e = load_experiment(path, {"experiment.teacher_archs=[resnet8]", "experiment.teacher_fractions=[0.5,1]",
                                              "experiment.pruners=[random]", "experiment.disjoint_split=0.5",
                                              "experiment.alphas=[{schedule: linear, at_f: [0.1, 0.7], value: [1.0, 0.5]}]",
                                              "experiment.seeds=[3]"});
  const auto stages = plan(e);
  const Config t = load_config_text(e.base_yaml, e.file, find(stages, "teacher-resnet8-ft0.5").overrides);
  EXPECT_DOUBLE_EQ(t.data.fraction, 0.5);
  EXPECT_EQ(t.data.part, "teacher");
  const Experiment control = load_experiment(path, {"experiment.disjoint_split=0.5", "experiment.pruners=[random]",
                                                    "experiment.teacher_part=student"});
  EXPECT_EQ(load_config_text(control.base_yaml, control.file, plan(control).front().overrides).data.part, "student");
  size_t students = 0;
  for (const auto& s : stages) {
    if (s.kind != StageKind::student) continue;
    ++students;
    const Config c = load_config_text(e.base_yaml, e.file, s.overrides);
    EXPECT_EQ(c.data.part, "student") << s.name;
    EXPECT_EQ(c.kd.alpha.schedule, "linear") << s.name;
    EXPECT_EQ(c.run.seed, 3);
  }
  EXPECT_EQ(students, 2u * 2u);  // f in {0.1, 1} x 2 teachers, no alpha-0 runs
}

TEST(Pipeline, ExperimentErrorsNameTheKey) {
  TempDir d;
  const std::string path = write_experiment(d);
  // An overridden key is blamed on the override as typed; a key of the file on the file.
  EXPECT_NE(error_of(path, {"experiment.fractoins=[0.1]"}).find("override 'experiment.fractoins=[0.1]': unknown key"),
            std::string::npos);
  EXPECT_NE(error_of(path, {"experiment.fractions=[0, 0.5]"})
                .find("override 'experiment.fractions=[0, 0.5]': expected a list of kept fractions"),
            std::string::npos);
  EXPECT_NE(error_of(path, {"experiment.fractions=[.nan]"}).find("expected a list of kept fractions"), std::string::npos);
  EXPECT_NE(error_of(path, {"experiment.alphas=[.nan]"}).find("alpha .nan is not a valid kd.alpha"), std::string::npos);
  EXPECT_NE(error_of(path, {"experiment.pruners=[{name: dual, cutoff: .nan}]"}).find("cutoff in [0, 1)"), std::string::npos);
  write_bytes(d.file("badfrac.yaml"), "run: {name: x}\nexperiment: {fractions: [2]}\n");
  EXPECT_NE(error_of(d.file("badfrac.yaml"), {}).find(d.file("badfrac.yaml") + ": experiment.fractions: expected"),
            std::string::npos);
  EXPECT_NE(error_of(path, {"experiment.pruners=[{name: el2n, level: medium}]"}).find("experiment.pruners"), std::string::npos);
  EXPECT_NE(error_of(path, {"experiment.alphas=[2]"}).find("kd.alpha"), std::string::npos);
  EXPECT_NE(error_of(path, {"train.epochs=many"}).find("train.epochs"), std::string::npos);
  write_bytes(d.file("nofrac.yaml"), "run: {name: x}\nexperiment: {pruners: [random]}\n");
  EXPECT_NE(error_of(d.file("nofrac.yaml"), {}).find("experiment.fractions"), std::string::npos);
}

TEST(Pipeline, PrunerLabelsAndNumbers) {
  EXPECT_EQ((PrunerSpec{.name = "el2n", .level = "easy", .class_balanced = true, .scores = ""}).label(), "el2n-easy-cb");
  EXPECT_EQ((PrunerSpec{.name = "moderate", .level = "moderate", .class_balanced = false, .scores = ""}).label(), "moderate");
  EXPECT_EQ((PrunerSpec{.name = "random", .level = "easy", .class_balanced = false, .scores = ""}).label(), "random");
  EXPECT_EQ(format_number(0.1), "0.1");
  EXPECT_EQ(format_number(1.0), "1");
  EXPECT_EQ(format_number(0.05), "0.05");
}

// Given teacher files are labelled by their architecture (as the command reads it from the file);
// two of one architecture also by their folder or file name.
TEST(Pipeline, ExistingTeacherModelsAreLabelledByArchitecture) {
  TempDir d;
  const std::string path = write_experiment(d);
  fs::create_directories(d.file("a"));
  fs::create_directories(d.file("b"));
  for (const char* f : {"a/model.pt", "b/model.pt", "t8.pth"}) write_bytes(d.file(f), "x");
  Experiment e = load_experiment(path, {"experiment.teacher_archs=", "experiment.teacher_models=[" + d.file("t8.pth") + "]",
                                        "experiment.pruners=[random]", "experiment.seeds=[0]"});
  e.teacher_model_archs = {"resnet8"};
  find(plan(e), "student-random-f0.1-a0.5-resnet8-s0");
  e = load_experiment(path, {"experiment.teacher_archs=", "experiment.pruners=[random]", "experiment.seeds=[0]",
                             "experiment.teacher_models=[" + d.file("a/model.pt") + "," + d.file("b/model.pt") + "," + d.file("t8.pth") + "]"});
  e.teacher_model_archs = {"resnet8", "resnet8", "resnet20"};
  const auto stages = plan(e);
  find(stages, "student-random-f0.1-a0.5-resnet8-a-s0");
  find(stages, "student-random-f0.1-a0.5-resnet8-b-s0");
  find(stages, "student-random-f0.1-a0.5-resnet20-s0");
}

TEST(Pipeline, ExistingTeacherModelsNeedNoTeacherStage) {
  TempDir d;
  const std::string path = write_experiment(d);
  fs::create_directories(d.file("my-teacher"));
  write_bytes(d.file("my-teacher/model.pt"), "x");
  const Experiment e = load_experiment(path, {"experiment.teacher_archs=", "experiment.teacher_models=[" + d.file("my-teacher/model.pt") + "]",
                                              "experiment.pruners=[random]", "experiment.seeds=[0]"});
  const auto stages = plan(e);
  EXPECT_TRUE(std::none_of(stages.begin(), stages.end(), [](const Stage& s) { return s.kind == StageKind::teacher; }));
  const auto& kd = find(stages, "student-random-f0.1-a0.5-my-teacher-s0");  // no architecture known: its folder
  EXPECT_EQ(load_config_text(e.base_yaml, e.file, kd.overrides).kd.teacher, d.file("my-teacher/model.pt"));
  EXPECT_EQ(kd.inputs, std::vector<size_t>{index_of(stages, "prune-random-f0.1-s0")});
  EXPECT_NE(error_of(path, {"experiment.teacher_models=[" + d.file("missing.pt") + "]", "experiment.teacher_archs="})
                .find("experiment.teacher_models=[" + d.file("missing.pt") + "]': '"), std::string::npos);
  EXPECT_NE(error_of(path, {"experiment.teacher_models=[" + d.file("my-teacher/model.pt") + "]"}).find("not both"),
            std::string::npos);
}

TEST(Pipeline, AutoSamplingIsBetaForDualAtHighPruningRates) {
  TempDir d;
  const std::string path = write_experiment(d);
  const Experiment e = load_experiment(path, {"experiment.pruners=[random, dual, el2n, {name: dual, sampling: topk}]",
                                              "experiment.fractions=[0.1, 0.5, 0.7]", "experiment.seeds=[0]"});
  const auto stages = plan(e);
  auto sampling = [&](const std::string& name) {
    return load_config_text(e.base_yaml, e.file, find(stages, name).overrides).prune.sampling;
  };
  EXPECT_EQ(sampling("prune-dual-f0.1-s0"), "beta");  // sampled: one subset per seed
  EXPECT_EQ(sampling("prune-dual-f0.5-s0"), "beta");
  EXPECT_EQ(sampling("prune-dual-f0.7"), "topk");
  EXPECT_EQ(sampling("prune-dual-topk-f0.1"), "topk");
  EXPECT_EQ(sampling("prune-el2n-f0.1"), "topk");
  EXPECT_EQ(sampling("prune-random-f0.1-s0"), "topk");  // spelled out: stages say what they do
  EXPECT_EQ(prune::auto_sampling(true, 0.5, "hard", false), "beta");
  EXPECT_EQ(prune::auto_sampling(true, 0.51, "hard", false), "topk");
  EXPECT_EQ(prune::auto_sampling(true, 0.1, "easy", false), "topk");
  EXPECT_EQ(prune::auto_sampling(true, 0.1, "hard", true), "topk");
  EXPECT_EQ(prune::auto_sampling(false, 0.1, "hard", false), "topk");
}

TEST(Pipeline, ScoresOnTheStudentsPartAndSeededSamplingPerSeed) {
  TempDir d;
  const std::string path = write_experiment(d);
  const Experiment e = load_experiment(path, {"experiment.disjoint_split=0.5", "experiment.seeds=[0, 1]",
                                              "experiment.fractions=[0.1]", "experiment.alphas=[0]",
                                              "experiment.pruners=[forgetting, {name: forgetting, sampling: ccs}]"});
  const auto stages = plan(e);
  auto config_of = [&](const std::string& name) { return load_config_text(e.base_yaml, e.file, find(stages, name).overrides); };
  // The score stage trains on the pool the students select from: their part of the split.
  const Config score = config_of("score-forgetting");
  EXPECT_EQ(score.data.part, "student");
  EXPECT_DOUBLE_EQ(score.data.split, 0.5);
  // Top-k is a function of the scores: one subset for both seeds. CCS samples: one per seed,
  // each with its own prune.seed.
  EXPECT_EQ(config_of("prune-forgetting-f0.1").prune.seed, 0);
  EXPECT_FALSE(std::any_of(stages.begin(), stages.end(), [](const auto& s) { return s.name == "prune-forgetting-f0.1-s1"; }));
  EXPECT_EQ(config_of("prune-forgetting-ccs-f0.1-s0").prune.seed, 0);
  EXPECT_EQ(config_of("prune-forgetting-ccs-f0.1-s1").prune.seed, 1);
  const Config student = config_of("student-forgetting-ccs-f0.1-a0-s1");
  EXPECT_NE(student.data.subset.find("prune-forgetting-ccs-f0.1-s1/subset.npy"), std::string::npos) << student.data.subset;
  // Every seed splits the data as the scores (and teachers) did: the pools are the same.
  auto pool_of = [](Config c) {
    c.data.subset.clear();  // the pool a subset was drawn from
    return kdprune::data::select_train_indices(c.data, 1000, c.run.seed);
  };
  for (const char* name : {"prune-forgetting-ccs-f0.1-s1", "student-forgetting-ccs-f0.1-a0-s1", "student-forgetting-f0.1-a0-s1"}) {
    const Config c = config_of(name);
    EXPECT_EQ(c.run.seed, 1) << name;
    EXPECT_EQ(pool_of(c), pool_of(score)) << name;
  }
  Config unpinned = config_of("student-forgetting-f0.1-a0-s1");
  unpinned.data.split_seed = -1;  // what seed 1 would split without the pin
  EXPECT_NE(pool_of(unpinned), pool_of(score));
}

// The synthetic dataset is drawn from run.seed: every seed's subsets and students get the base
// seed's images (data.synthetic.seed), the ones the teachers were trained on; a base that sets
// data.synthetic.seed itself keeps it.
TEST(Pipeline, EverySeedSeesTheTeachersSyntheticData) {
  TempDir d;
  const std::string path = write_experiment(d);
  const std::vector<std::string> grid = {"experiment.seeds=[0, 1]", "experiment.fractions=[0.5]", "experiment.alphas=[0, 0.9]",
                                         "experiment.pruners=[random]"};
  const Experiment e = load_experiment(path, grid);
  const auto stages = plan(e);
  auto config_of = [&](const std::string& name) { return load_config_text(e.base_yaml, e.file, find(stages, name).overrides); };
  auto images_of = [](const Config& c) { return kdprune::data::load_dataset(c.data, c.run.seed).train.images; };
  const auto teacher = images_of(load_config_text(e.base_yaml, e.file, {}));
  for (const char* name : {"prune-random-f0.5-s1", "student-random-f0.5-a0-s1", "student-random-f0.5-a0-s0"}) {
    const Config c = config_of(name);
    EXPECT_EQ(images_of(c), teacher) << name;
  }
  EXPECT_EQ(config_of("student-random-f0.5-a0-s1").run.seed, 1);
  EXPECT_EQ(config_of("student-random-f0.5-a0-s1").data.synthetic.seed, 0);
  EXPECT_EQ(config_of("student-random-f0.5-a0-s0").data.synthetic.seed, -1) << "the base seed's stages are as before";
  Config unpinned = config_of("student-random-f0.5-a0-s1");
  unpinned.data.synthetic.seed = -1;  // what seed 1 would train on without the pin
  EXPECT_NE(images_of(unpinned), teacher);
  std::vector<std::string> fixed = grid;
  fixed.push_back("data.synthetic.seed=5");
  const Experiment own = load_experiment(path, fixed);
  const auto own_stages = plan(own);
  EXPECT_EQ(load_config_text(own.base_yaml, own.file, find(own_stages, "student-random-f0.5-a0-s1").overrides).data.synthetic.seed, 5);
}

// Base keys that every stage reading them sets itself are named, with where they came from and
// the experiment key to use instead; kd.alpha only when experiment.alphas is given.
TEST(Pipeline, IgnoredBaseKeysAreNamed) {
  TempDir d;
  std::string text = kExperiment;
  text.replace(text.find("data: {name: synthetic}"), 23, "data: {name: synthetic, fraction: 0.5}\nkd: {alpha: 0.9}");
  const std::string path = write_experiment(d, text);
  auto w = ignored_base_keys(load_experiment(path, {"prune.method=forgetting"}), {"prune.method=forgetting"});
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].rfind("data.fraction (" + path + ") is set by kdprune run", 0), 0u) << w[0];
  EXPECT_NE(w[0].find("set experiment.fractions"), std::string::npos) << w[0];
  EXPECT_EQ(w[1].rfind("prune.method (override 'prune.method=forgetting')", 0), 0u) << w[1];
  EXPECT_EQ(w[2].rfind("kd.alpha (", 0), 0u) << w[2];
  // Without experiment.alphas the base kd.alpha is the KD students' alpha: used, not named.
  text.replace(text.find("  alphas: [0, 0.5]\n"), 19, "");
  const std::string path2 = write_experiment(d, text);
  EXPECT_EQ(ignored_base_keys(load_experiment(path2, {}), {}).size(), 1u);
}
