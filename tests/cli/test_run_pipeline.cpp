// `kdprune run` end to end on tiny synthetic data: an interrupted experiment continues without
// redoing finished stages; a dry run writes nothing; `kdprune results` collects the same rows.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <thread>

#include "run_cli.h"
#include "test_files.h"

namespace fs = std::filesystem;
using kdprune::test::read_bytes;
using kdprune::test::Result;
using kdprune::test::run;
using kdprune::test::TempDir;
using kdprune::test::write_bytes;

namespace {

std::string experiment(const TempDir& d) {
  const std::string path = d.file("exp.yaml");
  write_bytes(path, "run: {root: " + d.path() + ", name: exp, threads: 1}\n"
                    "data:\n  name: synthetic\n"
                    "  synthetic: {train_size: 256, test_size: 64, channels: 1, height: 8, width: 8, classes: 4}\n"
                    "model: {arch: resnet8}\n"
                    "train: {epochs: 6, batch_size: 32, lr: 0.05, schedule: constant, eval_every: 100, checkpoint_every: 1}\n"
                    "score: {epochs: 2}\n"
                    "experiment:\n"
                    "  teacher: {train.epochs: 3}\n"
                    "  pruners: [random, forgetting]\n"
                    "  fractions: [0.25]\n"
                    "  alphas: [0, 0.5]\n"
                    "  seeds: [0, 1]\n");
  return path;
}

// "N stages run, M reused" from the summary line.
std::pair<int, int> counts(const std::string& out) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(R"((\d+) stages run, (\d+) reused)"))) return {-1, -1};
  return {std::stoi(m[1]), std::stoi(m[2])};
}
}  // namespace

TEST(RunPipeline, KilledMidwayContinuesWithoutRedoingFinishedStages) {
  TempDir d;
  const std::string exp = experiment(d);
  const std::string dir = d.path() + "/exp";
  const std::string teacher_summary = dir + "/teacher-resnet8/summary.json";

  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    execl(KDPRUNE_BIN, KDPRUNE_BIN, "run", "--config", exp.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Kill it hard once the teacher has finished and some later stage has started.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  bool killed = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(dir + "/teacher-resnet8/stage.json") && fs::exists(dir + "/score-forgetting")) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) break;  // finished before we could kill it
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  waitpid(pid, nullptr, 0);
  ASSERT_TRUE(killed) << "the run ended before it could be interrupted";
  ASSERT_FALSE(fs::exists(dir + "/results.csv"));
  const std::string teacher_before = read_bytes(teacher_summary);

  const Result again = run("run --config " + exp);
  ASSERT_EQ(again.code, 0) << again.out;
  const auto [ran, reused] = counts(again.out);
  EXPECT_GE(reused, 1) << again.out;  // at least the teacher
  EXPECT_GE(ran, 1) << again.out;
  EXPECT_EQ(read_bytes(teacher_summary), teacher_before) << "the finished teacher was trained again";
  // Stages: teacher, score-forgetting, prune-random-s0/s1, prune-forgetting, 4 x 2 students = 13.
  EXPECT_EQ(ran + reused, 13) << again.out;
  const std::string csv = read_bytes(dir + "/results.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 8) << csv;
  EXPECT_NE(again.out.find("random / no KD"), std::string::npos) << again.out;

  // Nothing left to do now; the dry run says so and changes nothing.
  const Result dry = run("run --config " + exp + " --dry-run");
  ASSERT_EQ(dry.code, 0) << dry.out;
  EXPECT_EQ(std::count(dry.out.begin(), dry.out.end(), '\t'), 13 * 3) << dry.out;
  EXPECT_EQ(dry.out.find("\nrun\t"), std::string::npos) << dry.out;
  EXPECT_EQ(counts(run("run --config " + exp).out), std::make_pair(0, 13));

  // Extending the experiment runs only the new stages.
  const Result more = run("run --config " + exp + " 'experiment.alphas=[0, 0.5, 1]'");
  ASSERT_EQ(more.code, 0) << more.out;
  EXPECT_EQ(counts(more.out), std::make_pair(4, 13)) << more.out;

  // `kdprune results` over the experiment folder finds the same student rows.
  const Result collected = run("results " + dir + " --out " + d.file("collected.csv"));
  ASSERT_EQ(collected.code, 0) << collected.out;
  const std::string rows = read_bytes(d.file("collected.csv"));
  EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), 1 + 12) << rows;
}

TEST(RunPipeline, DryRunWritesNothingAndBadExperimentsFailClearly) {
  TempDir d;
  const std::string exp = experiment(d);
  const Result dry = run("run --config " + exp + " --dry-run");
  ASSERT_EQ(dry.code, 0) << dry.out;
  EXPECT_NE(dry.out.find("run\tteacher-resnet8\tnew"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("kdprune distill --config " + d.path() + "/exp/base.yaml"), std::string::npos) << dry.out;
  EXPECT_FALSE(fs::exists(d.path() + "/exp"));
  const Result bad = run("run --config " + exp + " experiment.pruners=[forgeting] --dry-run");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("override 'experiment.pruners=[forgeting]': expected a pruner (random,"), std::string::npos) << bad.out;
  const Result typo = run("run --config " + exp + " experiment.alpha=[0]");
  EXPECT_NE(typo.code, 0);
  EXPECT_NE(typo.out.find("override 'experiment.alpha=[0]': unknown key"), std::string::npos) << typo.out;
  EXPECT_FALSE(fs::exists(d.path() + "/exp"));
}

// The students of an α × f × seed grid train together by default (one batch and one teacher
// forward per step within each subset and seed) and end exactly where they end one at a time
// (experiment.group_students: 1).
TEST(RunPipeline, GroupedStudentsMatchStudentsRunOneAtATime) {
  TempDir d;
  auto write = [&](const std::string& root) {
    const std::string path = d.file(root + ".yaml");
    write_bytes(path, "run: {root: " + d.path() + "/" + root + ", name: exp, threads: 1}\n"
                      "data:\n  name: synthetic\n"
                      "  synthetic: {train_size: 128, test_size: 64, channels: 1, height: 8, width: 8, classes: 4}\n"
                      "model: {arch: resnet8}\n"
                      "train: {epochs: 2, batch_size: 32, lr: 0.05, schedule: constant}\n"
                      "experiment:\n"
                      "  teacher: {train.epochs: 2}\n"
                      "  fractions: [0.25, 0.5]\n"
                      "  seeds: [0, 1]\n"
                      "  alphas: [0, 0.9]\n");
    return path;
  };
  const Result grouped = run("run --config " + write("a"));
  ASSERT_EQ(grouped.code, 0) << grouped.out;
  // Both seeds train on the teacher's synthetic data (the base seed's): one group of the eight, a
  // cohort per fraction and seed.
  EXPECT_NE(grouped.out.find("8 students train together in 4 cohort(s)"), std::string::npos) << grouped.out;
  const Result alone = run("run --config " + write("b") + " experiment.group_students=1");
  ASSERT_EQ(alone.code, 0) << alone.out;
  EXPECT_EQ(alone.out.find("students train together"), std::string::npos) << alone.out;
  int students = 0;
  for (const auto& entry : fs::directory_iterator(d.path() + "/a/exp")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("student", 0) != 0) continue;
    ++students;
    const std::string a = read_bytes(entry.path().string() + "/summary.json");
    const std::string b = read_bytes(d.path() + "/b/exp/" + name + "/summary.json");
    auto field = [](const std::string& json, const std::string& key) {
      const auto at = json.find("\"" + key + "\":");
      return at == std::string::npos ? std::string("missing") : json.substr(at, json.find_first_of(",\n}", at) - at);
    };
    EXPECT_EQ(field(a, "top1"), field(b, "top1")) << name;
    EXPECT_EQ(field(a, "best_top1"), field(b, "best_top1")) << name;
  }
  EXPECT_EQ(students, 8);
}

// A group has one teacher: a student joins only if it fits every member, so the no-KD student
// joins the first teacher's student and the second teacher's student trains in a group of its own.
TEST(RunPipeline, StudentsOfTwoTeachersTrainInTwoGroups) {
  TempDir d;
  const std::string path = d.file("two.yaml");
  write_bytes(path, "run: {root: " + d.path() + ", name: two, threads: 1}\n"
                    "data:\n  name: synthetic\n"
                    "  synthetic: {train_size: 64, test_size: 32, channels: 1, height: 8, width: 8, classes: 4}\n"
                    "model: {arch: resnet8}\n"
                    "train: {epochs: 1, batch_size: 32, lr: 0.05, schedule: constant}\n"
                    "experiment:\n"
                    "  teacher: {train.epochs: 1}\n"
                    "  teacher_archs: [resnet8, resnet14]\n"
                    "  fractions: [0.5]\n"
                    "  alphas: [0, 0.9]\n");
  const Result r = run("run --config " + path);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("2 students train together:"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("3 students train together"), std::string::npos) << r.out;
}
