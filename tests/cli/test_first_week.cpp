// What a researcher meets in a first week (issue #39, item 5): messages that say what to do next
// and log lines that read as what happened.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run_cli.h"
#include "tiny_run.h"
#include "test_files.h"

using namespace kdprune::test;
namespace fs = std::filesystem;

namespace {
std::string tiny(const TempDir& d, const std::string& name) { return tiny_run(d, name); }
}  // namespace

// An experiment file handed to `kdprune config` (or a training command) points at `kdprune run`.
TEST(FirstWeek, AnExperimentFileOutsideRunPointsAtRun) {
  TempDir d;
  write_bytes(d.file("exp.yaml"), "data:\n  name: synthetic\nexperiment:\n  name: e\n  fractions: [0.5]\n");
  for (const std::string cmd : {"config", "distill"}) {
    const Result r = run(cmd + " --config " + d.file("exp.yaml"));
    expect_one_line_error(r, "experiment: unknown key");
    expect_one_line_error(r, "kdprune run --config FILE --dry-run");
  }
}

// `kdprune results` where no student finished is an error, not an empty table with exit 0.
TEST(FirstWeek, ResultsWithNoFinishedStudentIsAnError) {
  TempDir d;
  fs::create_directories(d.file("empty"));
  const Result r = run("results " + d.file("empty"));
  expect_one_line_error(r, "no finished student run");
  expect_one_line_error(r, d.file("empty"));
}

// The loss line shows the weights as numbers, not as binary rounding (α = 0.9: 0.1·CE, not
// 0.09999999999999998·CE); `info` describes Moderate as its reference computes it (the median).
TEST(FirstWeek, LogAndInfoSayWhatIsComputed) {
  TempDir d;
  const Result teacher = run("train-teacher " + tiny(d, "t"));
  ASSERT_EQ(teacher.code, 0) << teacher.out;
  const Result student = run("distill " + tiny(d, "s") + " kd.alpha=0.9 kd.teacher=" + d.file("t/model.pt"));
  ASSERT_EQ(student.code, 0) << student.out;
  EXPECT_NE(student.out.find("loss convex = 0.1*CE + 0.9*kd"), std::string::npos) << student.out;
  EXPECT_EQ(student.out.find("0.0999999"), std::string::npos) << student.out;
  const Result info = run("info");
  ASSERT_EQ(info.code, 0) << info.out;
  const auto at = info.out.find("moderate");
  ASSERT_NE(at, std::string::npos) << info.out;
  const std::string line = info.out.substr(at, info.out.find('\n', at) - at);
  EXPECT_NE(line.find("median"), std::string::npos) << line;
  EXPECT_EQ(line.find("centroid"), std::string::npos) << line;
}

// A missing kd.teacher is named as kd.teacher, with the absolute path and the command that makes
// it, before the dataset loads (here the dataset is missing too: the teacher is what is said).
TEST(FirstWeek, AMissingTeacherIsNamedBeforeTheDataLoad) {
  TempDir cwd;
  const Result shipped = run("distill --config cifar100_f0.1.yaml", cwd.path());
  expect_one_line_error(shipped, "kd.teacher 'runs/cifar100-teacher-resnet32/model.pt': not found (" + cwd.path() +
                                     "/runs/cifar100-teacher-resnet32/model.pt); train the teacher first: `kdprune "
                                     "train-teacher --config cifar100_teacher.yaml` writes it");
  EXPECT_EQ(shipped.out.find("CIFAR-100 not found"), std::string::npos) << "checked before the data: " << shipped.out;
  // Another run.root is carried into the command; a file that is not a train-teacher run's gets the general advice.
  expect_one_line_error(run("distill --config cifar100_f0.1.yaml run.root=" + cwd.file("r"), cwd.path()),
                        "`kdprune train-teacher --config cifar100_teacher.yaml run.root=" + cwd.file("r") + "` writes it");
  const Result pth = run("distill --config cifar100_f0.1.yaml kd.teacher=t/t8.pth", cwd.path());
  expect_one_line_error(pth, "kd.teacher 't/t8.pth': not found (" + cwd.path() +
                                 "/t/t8.pth); point kd.teacher at a model.pt of a train-teacher run or a PyTorch state_dict file");
  // α = 0 trains without a teacher: a missing one is no error (here the data are what is missing).
  expect_one_line_error(run("distill --config cifar100_f0.1.yaml kd.alpha=0", cwd.path()), "CIFAR-100 not found");
}

// A PyTorch teacher in an experiment carries what is known of it: stage names by its architecture
// (read from the file), f_t empty (unknown, never 0), and its top-1 in results.csv and the table.
TEST(FirstWeek, APyTorchTeacherIsNamedByItsArchitectureWithUnknownFt) {
  TempDir d;
  ASSERT_EQ(run("train-teacher " + tiny(d, "t")).code, 0);
  ASSERT_EQ(run("export --checkpoint " + d.file("t/model.pt") + " --out " + d.file("t8.pth")).code, 0);
  write_bytes(d.file("exp.yaml"), "run: {root: " + d.path() + ", name: e, threads: 1}\n"
                                  "data:\n  name: synthetic\n"
                                  "  synthetic: {train_size: 64, test_size: 32, channels: 1, height: 8, width: 8, classes: 4}\n"
                                  "model: {arch: resnet8}\n"
                                  "train: {epochs: 1, batch_size: 16, schedule: constant}\n"
                                  "experiment:\n"
                                  "  teacher_models: [" + d.file("t8.pth") + "]\n"
                                  "  pruners: [random]\n  fractions: [0.5]\n  alphas: [0.5]\n  seeds: [0]\n");
  const Result r = run("run --config " + d.file("exp.yaml"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(d.file("e/student-random-f0.5-a0.5-resnet8-s0/summary.json"))) << r.out;
  const std::string csv = read_bytes(d.file("e/results.csv"));
  const std::string header = csv.substr(0, csv.find('\n')), line = csv.substr(csv.find('\n') + 1);
  EXPECT_NE(line.find(",resnet8,,,all,"), std::string::npos) << "teacher_arch resnet8, teacher_f empty: " << csv;
  ASSERT_NE(header.find(",teacher_top1"), std::string::npos) << header;
  EXPECT_NE(line.substr(line.rfind(',') + 1), "\n") << "the teacher's top-1 is filled: " << csv;
  EXPECT_NE(r.out.find("teacher test top-1 %: resnet8 (f_t unknown) "), std::string::npos) << r.out;
  const Result again = run("results " + d.file("e"));
  EXPECT_NE(again.out.find("teacher test top-1 %: resnet8 (f_t unknown) "), std::string::npos) << again.out;
}

// --resume train.epochs=N continues a finished run for more epochs. Multistep with its milestones
// kept: the same model as a run started at N epochs (the rate depends on the epoch alone). The
// first result stays beside it.
TEST(FirstWeek, ResumeWithMoreEpochsContinuesAFinishedRun) {
  TempDir d;
  const std::string multistep = " train.schedule=multistep train.milestones=[1,3] train.checkpoint_every=1";
  ASSERT_EQ(run("train-teacher " + tiny(d, "grown") + multistep + " train.epochs=2").code, 0);
  const std::string first = read_bytes(d.file("grown/model.pt"));
  const Result grown = run("train-teacher --resume " + tiny(d, "grown") + multistep + " train.epochs=4");
  ASSERT_EQ(grown.code, 0) << grown.out;
  EXPECT_NE(grown.out.find("training " + d.file("grown") + " longer, 2 -> 4 epochs"), std::string::npos) << grown.out;
  ASSERT_EQ(run("train-teacher " + tiny(d, "straight") + multistep + " train.epochs=4").code, 0);
  EXPECT_EQ(read_bytes(d.file("grown/model.pt")), read_bytes(d.file("straight/model.pt"))) << "the same weights as 4 epochs from the start";
  EXPECT_EQ(metrics_without_timing(d.file("grown/metrics.csv")), metrics_without_timing(d.file("straight/metrics.csv")));
  EXPECT_EQ(read_bytes(d.file("grown/model.epochs2.pt")), first) << "the 2-epoch model stays";
  EXPECT_TRUE(fs::exists(d.file("grown/summary.epochs2.json")));
  const auto summary = nlohmann::json::parse(read_bytes(d.file("grown/summary.json")));
  EXPECT_EQ(summary["epochs"], 4);
  EXPECT_EQ(summary["resumed_from_epoch"], 2);

  // Cosine: epochs 3..4 follow the 4-epoch schedule from where the run is (rate at epoch 3 of 4).
  const std::string cosine = " train.schedule=cosine train.lr=0.1 train.checkpoint_every=1";
  ASSERT_EQ(run("train-teacher " + tiny(d, "cos") + cosine + " train.epochs=2").code, 0);
  ASSERT_EQ(run("train-teacher --resume " + tiny(d, "cos") + cosine + " train.epochs=4").code, 0);
  const std::string m = read_bytes(d.file("cos/metrics.csv"));
  EXPECT_NE(m.find("\n3,0.05,"), std::string::npos) << "0.5·0.1·(1 + cos(π·2/4)) = 0.05: " << m;
  EXPECT_NE(m.find("\n4,0.01464"), std::string::npos) << "0.5·0.1·(1 + cos(π·3/4)): " << m;

  // What cannot be a longer run: fewer epochs, a milestone already passed moved, another key.
  expect_one_line_error(run("train-teacher --resume " + tiny(d, "grown") + multistep + " train.epochs=3"),
                        "train.epochs can only grow on --resume (the run's schedule is 4 epochs)");
  expect_one_line_error(run("train-teacher --resume " + tiny(d, "grown") + multistep + " train.epochs=6 train.milestones=[2,3]"),
                        "train.milestones below 4 (epochs already trained) must stay as they were");
  expect_one_line_error(run("train-teacher --resume " + tiny(d, "grown") + multistep + " train.epochs=6 train.lr=0.5"),
                        "the config differs from");
  expect_one_line_error(run("train-teacher --resume " + tiny(d, "grown") + multistep + " train.epochs=4"),
                        "nothing to resume (to train it longer: --resume train.epochs=N, N > 4)");
}

// Milestones the schedule never reaches are said, with a scaled suggestion; a shorter scoring run
// reads as planned, not as a run cut short.
TEST(FirstWeek, UnreachedMilestonesWarnAndAnEarlyScoreReadsAsPlanned) {
  TempDir d;
  const Result r = run("train-teacher " + tiny(d, "late") + " train.schedule=multistep train.epochs=2 train.milestones=[1,2,5]");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("train.milestones: 2, 5 at or past the last epoch (train.epochs = 2): the learning rate never drops there"),
            std::string::npos) << r.out;
  const Result ok = run("train-teacher " + tiny(d, "fine") + " train.schedule=multistep train.epochs=2 train.milestones=[1]");
  EXPECT_EQ(ok.out.find("train.milestones:"), std::string::npos) << ok.out;
  const Result s = run("score " + tiny(d, "sc") + " score.method=el2n score.epochs=1 train.epochs=3");
  ASSERT_EQ(s.code, 0) << s.out;
  EXPECT_NE(s.out.find("trains the first 1 epochs of a 3-epoch schedule"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("epoch 1/1 "), std::string::npos) << s.out;
  EXPECT_EQ(s.out.find("stopping"), std::string::npos) << s.out;
}
