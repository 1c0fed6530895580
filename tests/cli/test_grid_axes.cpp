// Any config key as a grid axis of `kdprune run` (experiment.axes, teacher_axes): the stages it
// makes, their names, its results.csv column, the table's grouping, reuse, and its refusals.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "run_cli.h"
#include "test_files.h"

namespace fs = std::filesystem;
using namespace kdprune::test;

namespace {
std::string experiment(const TempDir& d, const std::string& axes) {
  const std::string path = d.file("exp.yaml");
  write_bytes(path, "run: {root: " + d.path() + ", name: ax, threads: 1}\n"
                    "data:\n  name: synthetic\n"
                    "  synthetic: {train_size: 64, test_size: 32, channels: 1, height: 8, width: 8, classes: 4}\n"
                    "model: {arch: resnet8}\n"
                    "train: {epochs: 1, batch_size: 16, schedule: constant, eval_every: 100}\n"
                    "experiment:\n"
                    "  teacher: {train.epochs: 1}\n"
                    "  fractions: [0.25, 0.5]\n"
                    "  alphas: [0, 0.5]\n"
                    "  seeds: [0]\n" + axes);
  return path;
}
}  // namespace

// kd.tau as an axis crossed with α and f: a KD student per (f, τ) named by its τ (a student without
// KD does not read kd.*: one per f), all trained together (τ is a student's own key), a kd.tau
// column (empty without KD) and the table's KD columns by τ; a second run reuses every stage.
TEST(GridAxes, ATauAxisCrossedWithAlphaAndFraction) {
  TempDir d;
  const std::string exp = experiment(d, "  axes: {kd.tau: [2, 6]}\n");
  const Result r = run("run --config " + exp);
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* name : {"student-random-f0.25-a0.5-resnet8-tau2-s0", "student-random-f0.25-a0.5-resnet8-tau6-s0",
                           "student-random-f0.5-a0.5-resnet8-tau6-s0", "student-random-f0.5-a0-s0"})
    EXPECT_TRUE(fs::exists(d.file("ax/" + std::string(name) + "/summary.json"))) << name << "\n" << r.out;
  EXPECT_NE(r.out.find("6 students train together"), std::string::npos) << "τ and α share batches and the teacher: " << r.out;
  const std::string csv = read_bytes(d.file("ax/results.csv"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 6) << csv;
  const std::string header = csv.substr(0, csv.find('\n'));
  EXPECT_EQ(header.substr(header.size() - 7), ",kd.tau") << header;
  EXPECT_NE(csv.find("student-random-f0.25-a0.5-resnet8-tau6-s0,,0,fp32,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",6\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("student-random-f0.25-a0-s0,,0,fp32,,test,\n"), std::string::npos) << "no KD: no τ, no teacher: " << csv;
  EXPECT_NE(r.out.find("| random / no KD | random / KD tau=2 resnet8 | random / KD tau=6 resnet8 |"), std::string::npos)
      << "the table's KD columns by τ: " << r.out;
  const Result again = run("run --config " + exp);
  EXPECT_NE(again.out.find("0 stages run"), std::string::npos) << again.out;
  // kdprune results on the folder finds the same column.
  EXPECT_NE(run("results " + d.file("ax") + " --out " + d.file("c.csv")).out.find("KD tau=6"), std::string::npos);
  EXPECT_EQ(read_bytes(d.file("c.csv")).substr(0, csv.find('\n')), header);
}

// Architectures as a student axis train apart; a teacher axis multiplies the teachers.
TEST(GridAxes, ArchitectureAndTeacherAxesInThePlan) {
  TempDir d;
  const Result dry = run("run --config " + experiment(d, "  axes: {model.arch: [resnet8, resnet14]}\n  teacher_axes: {train.lr: [0.05, 0.1]}\n") +
                         " --dry-run");
  ASSERT_EQ(dry.code, 0) << dry.out;
  for (const char* name : {"teacher-resnet8-lr0.05", "teacher-resnet8-lr0.1", "student-random-f0.5-a0.5-resnet8-lr0.1-arch-resnet14-s0",
                           "student-random-f0.25-a0-arch-resnet8-s0"})
    EXPECT_NE(dry.out.find(std::string("\t") + name + "\t"), std::string::npos) << name << "\n" << dry.out;
  EXPECT_NE(dry.out.find("model.arch=resnet14 run.root="), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("train.lr=0.1 run.root="), std::string::npos) << dry.out;
  // 2 teachers x 2 f x 2 archs KD students + 2 f x 2 archs no-KD students = 12, + 2 teachers + 2 subsets.
  size_t stages = 0;
  for (size_t at = dry.out.find("\n\tkdprune "); at != std::string::npos; at = dry.out.find("\n\tkdprune ", at + 1)) ++stages;
  EXPECT_EQ(stages, 16u) << dry.out;
}

TEST(GridAxes, BadAxesAreOneLineBeforeAnyStage) {
  TempDir d;
  auto refused = [&](const std::string& axes, const std::string& needle) {
    expect_one_line_error(run("run --config " + experiment(d, axes)), needle);
    EXPECT_FALSE(fs::exists(d.file("ax"))) << axes;
  };
  refused("  axes: {kd.nope: [1]}\n", "'kd.nope' is no config key");
  refused("  axes: {kd.tau: []}\n", "expected a non-empty list of values for kd.tau");
  refused("  axes: {kd.tau: 3}\n", "expected a non-empty list of values for kd.tau");
  refused("  axes: {kd.tau: [2, abc]}\n", "kd.tau value 'abc' is not valid");
  refused("  axes: {kd.alpha: [0.5, 0.9]}\n", "'kd.alpha' is set by kdprune run in every student stage; use experiment.alphas");
  refused("  axes: {data.fraction: [0.1]}\n", "use experiment.fractions");
  refused("  axes: {kd.teacher: [a.pt]}\n", "use experiment.teacher_models");
  refused("  axes: {run.seed: [1, 2]}\n", "use experiment.seeds");
  refused("  teacher_axes: {model.arch: [resnet8]}\n", "'model.arch' is set by kdprune run in every teacher stage; use experiment.teacher_archs");
  refused("  axes: {run.threads: [1, 2]}\n", "changes how a stage runs, not what it computes");
  refused("  axes: {kd.tau: [2, 2]}\n", "'2' is listed twice");
  refused("  student: {kd.tau: 3}\n  axes: {kd.tau: [2, 4]}\n", "kd.tau is also an axis");
}

// The shipped experiments of Figs. 9-12 (the paper's datasets and their Fashion-MNIST twins) plan
// (their data are not needed for the plan): the stage counts follow from their axes.
TEST(GridAxes, ShippedFigures9To12Plan) {
  const std::vector<std::pair<std::string, size_t>> configs = {
      // teacher + score + 4 top-k subsets (one per f) + 4 f x 7 alphas x 3 seeds students
      {"svhn_fig9_alpha_f", 1 + 1 + 4 + 84},
      // 5 teachers + 12 subsets + (4 f x 3 seeds) x 2 archs x (5 KD + 1 no KD)
      {"svhn_fig10_teacher_capacity", 5 + 12 + 12 * 2 * 6},
      {"cifar10_fig10_teacher_capacity", 5 + 12 + 12 * 6},
      {"cifar100_fig10_teacher_capacity", 5 + 12 + 12 * 6},
      // 4 teachers + 12 subsets + 12 x (4 teachers x 6 taus + 1 no KD)
      {"cifar100_fig11_tau", 4 + 12 + 12 * 25},
      // teacher + score + 3 levels x 4 f subsets + 3 x 4 x 3 seeds x 2 alphas
      {"cifar100_fig12_levels", 1 + 1 + 12 + 72},
      {"fashion_mnist_fig9_alpha_f", 1 + 1 + 3 + 36},
      {"fashion_mnist_fig10_teacher_capacity", 3 + 6 + 6 * 2 * 4},
      {"fashion_mnist_fig11_tau", 2 + 4 + 4 * 13},
      {"fashion_mnist_fig12_levels", 1 + 1 + 9 + 36},
  };
  for (const auto& [name, stages] : configs) {
    const Result dry = run("run --config " + name + " --dry-run run.root=/nonexistent");
    ASSERT_EQ(dry.code, 0) << name << "\n" << dry.out;
    size_t n = 0;
    for (size_t at = dry.out.find("\n\tkdprune "); at != std::string::npos; at = dry.out.find("\n\tkdprune ", at + 1)) ++n;
    EXPECT_EQ(n, stages) << name << "\n" << dry.out;
  }
}
