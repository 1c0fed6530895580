// data.val_split and run.log_every_steps through the binary: the best epoch chosen on validation
// samples, its test top-1 that of best.pt; students of a group each with their split and rows;
// scoring covers the whole pool; bad values are one-line errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "run_cli.h"
#include "test_files.h"
#include "tiny_run.h"

using namespace kdprune::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
// tiny_run's synthetic data (64 training samples, 4 classes): what `kdprune eval` needs to load it.
const std::string kData =
    " data.synthetic.train_size=64 data.synthetic.test_size=32 data.synthetic.channels=1 data.synthetic.height=8"
    " data.synthetic.width=8 data.synthetic.classes=4 run.threads=1";
json json_file(const std::string& path) { return json::parse(read_bytes(path)); }
}  // namespace

TEST(ValSplit, TheBestEpochIsChosenOnValidationAndItsTestTop1IsBestPts) {
  TempDir d;
  const Result r = run("train-teacher " + tiny_run(d, "t") + " train.epochs=4 data.val_split=0.25 train.lr=0.2");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string dir = d.file("t");
  const json s = json_file(dir + "/summary.json");
  EXPECT_EQ(s["best_chosen_by"], "validation");
  EXPECT_EQ(s["val_size"], 16);
  EXPECT_EQ(s["subset_size"], 64) << "the validation samples are part of the subset";
  // The best epoch: the first with the highest val_top1 of metrics.csv.
  const auto rows = csv_rows(dir + "/metrics.csv");
  ASSERT_EQ(rows.size(), 5u);
  ASSERT_EQ(rows[0][4], "val_loss");
  ASSERT_EQ(rows[0][5], "val_top1");
  double best = -1;
  int64_t epoch = 0;
  for (size_t e = 1; e < rows.size(); ++e)
    if (std::stod(rows[e][5]) > best) best = std::stod(rows[e][5]), epoch = static_cast<int64_t>(e);
  EXPECT_EQ(s["best_epoch"].get<int64_t>(), epoch);
  EXPECT_DOUBLE_EQ(s["best_val_top1"].get<double>(), best);
  EXPECT_TRUE(rows[1][7].empty()) << "no test evaluation before the final epoch";
  EXPECT_DOUBLE_EQ(std::stod(rows[4][7]), s["top1"].get<double>()) << "the final model's test top-1";
  // best_top1 is the test top-1 of best.pt, as `kdprune eval` gives it.
  const Result e = run("eval --checkpoint " + dir + "/best.pt --out " + d.file("best_eval.json") + kData);
  ASSERT_EQ(e.code, 0) << e.out;
  EXPECT_DOUBLE_EQ(json_file(d.file("best_eval.json"))["top1"].get<double>(), s["best_top1"].get<double>());
  // Without the key: today's columns and best_chosen_by test.
  ASSERT_EQ(run("train-teacher " + tiny_run(d, "plain")).code, 0);
  EXPECT_EQ(csv_rows(d.file("plain/metrics.csv"))[0].size(), 9u);
  EXPECT_EQ(json_file(d.file("plain/summary.json"))["best_chosen_by"], "test");
}

// Students trained together (--alphas) each hold out their own subset's validation samples and
// each write their own step rows; kdprune score covers its whole pool.
TEST(ValSplit, AGroupOfStudentsAndScoring) {
  TempDir d;
  ASSERT_EQ(run("train-teacher " + tiny_run(d, "teacher")).code, 0);
  const std::string teacher = " kd.teacher=" + d.file("teacher/model.pt");
  const Result g = run("distill " + tiny_run(d, "grp") + teacher +
                       " prune.fraction=0.5 data.val_split=0.25 run.log_every_steps=1 --alphas 0,0.5");
  ASSERT_EQ(g.code, 0) << g.out;
  EXPECT_NE(g.out.find("2 students train together"), std::string::npos) << g.out;
  for (const char* a : {"0", "0.5"}) {
    const std::string dir = d.file(std::string("grp-alpha") + a);
    const json s = json_file(dir + "/summary.json");
    EXPECT_EQ(s["best_chosen_by"], "validation");
    EXPECT_EQ(s["val_size"], 8);  // a quarter of the 32 kept
    EXPECT_DOUBLE_EQ(s["f"].get<double>(), 0.5);
    // 24 training samples, batches of 16: 2 steps, a row each.
    std::istringstream in(read_bytes(dir + "/metrics.jsonl"));
    int steps = 0, epochs = 0;
    for (std::string l; std::getline(in, l);) ++(json::parse(l).contains("step") ? steps : epochs);
    EXPECT_EQ(steps, 2) << a;
    EXPECT_EQ(epochs, 1) << a;
    EXPECT_TRUE(fs::exists(dir + "/steps"));
  }
  EXPECT_FALSE(fs::exists(d.file("teacher/steps")));
  // kdprune results reports the test top-1 of the epoch validation chose, and says so.
  const Result res = run("results " + d.file("grp-alpha0") + " " + d.file("grp-alpha0.5") + " --out " + d.file("results.csv"));
  ASSERT_EQ(res.code, 0) << res.out;
  EXPECT_NE(res.out.find("best validation top-1"), std::string::npos) << res.out;
  const auto table = csv_rows(d.file("results.csv"));
  ASSERT_EQ(table.size(), 3u);
  ASSERT_EQ(table[0].back(), "best_by");
  const auto col = std::find(table[0].begin(), table[0].end(), "best_top1") - table[0].begin();
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(table[i].back(), "validation");
    const std::string run_dir = table[i][static_cast<size_t>(std::find(table[0].begin(), table[0].end(), "run_dir") - table[0].begin())];
    EXPECT_DOUBLE_EQ(std::stod(table[i][static_cast<size_t>(col)]), json_file(run_dir + "/summary.json")["best_top1"].get<double>());
  }
  // Scoring: every sample of the pool is scored; the split is not applied (and said so).
  const Result sc = run("score " + tiny_run(d, "sc") + " score.method=forgetting score.epochs=1 data.val_split=0.25");
  ASSERT_EQ(sc.code, 0) << sc.out;
  EXPECT_NE(sc.out.find("data.val_split=0.25 is not applied by kdprune score"), std::string::npos) << sc.out;
  EXPECT_EQ(json_file(d.file("sc/scores.json"))["pool_size"], 64);
}

TEST(ValSplit, BadValuesAreOneLineErrors) {
  TempDir d;
  expect_one_line_error(run("train-teacher " + tiny_run(d, "a") + " data.val_split=1"), "data.val_split");
  expect_one_line_error(run("train-teacher " + tiny_run(d, "b") + " data.val_split=-0.5"), "[0, 1)");
  // 0.001 of 64 rounds to no sample.
  const Result none = run("train-teacher " + tiny_run(d, "c") + " data.val_split=0.001");
  expect_one_line_error(none, "data.val_split=0.001");
  expect_one_line_error(none, "holds out no sample");
  EXPECT_FALSE(fs::exists(d.file("c"))) << "refused before the run directory exists";
  expect_one_line_error(run("train-teacher " + tiny_run(d, "e") + " run.log_every_steps=-2"), "run.log_every_steps");
}

// kdprune run: the teacher and each student hold out validation samples of their own view (the
// students: of their pruned subsets) and write step rows; run.log_every_steps is run-only (every
// finished stage is reused), data.val_split changes the training stages (named, needs the flag),
// not the subset's.
TEST(ValSplit, AnExperimentsTrainingStagesEachHoldOutTheirOwn) {
  TempDir d;
  const std::string exp = d.file("exp.yaml");
  write_bytes(exp, "run: {root: " + d.path() + "/runs, name: exp, threads: 1}\n"
                   "data:\n  name: synthetic\n  val_split: 0.25\n"
                   "  synthetic: {train_size: 128, test_size: 32, channels: 1, height: 8, width: 8, classes: 4}\n"
                   "model: {arch: resnet8}\n"
                   "train: {epochs: 2, batch_size: 32, lr: 0.05, schedule: constant}\n"
                   "experiment:\n  teacher: {train.epochs: 1}\n  fractions: [0.5]\n  seeds: [0]\n  alphas: [0, 0.9]\n");
  const Result r = run("run --config " + exp + " run.log_every_steps=1");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string dir = d.path() + "/runs/exp";
  int teachers = 0, students = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const bool teacher = name.rfind("teacher", 0) == 0, student = name.rfind("student", 0) == 0;
    if (!teacher && !student) continue;
    const json s = json_file(entry.path().string() + "/summary.json");
    EXPECT_EQ(s["best_chosen_by"], "validation") << name;
    EXPECT_EQ(s["val_size"], teacher ? 32 : 16) << name;  // a quarter of 128, or of the 64 kept
    EXPECT_TRUE(fs::exists(entry.path() / "steps")) << name;
    ++(teacher ? teachers : students);
  }
  EXPECT_EQ(teachers, 1);
  EXPECT_EQ(students, 2);
  const auto table = csv_rows(dir + "/results.csv");
  const auto col = static_cast<size_t>(std::find(table[0].begin(), table[0].end(), "best_by") - table[0].begin());
  ASSERT_LT(col, table[0].size());
  ASSERT_EQ(table.size(), 3u);
  for (size_t i = 1; i < table.size(); ++i) EXPECT_EQ(table[i][col], "validation");
  auto count = [](const std::string& out, const std::string& action) {
    int n = 0;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) n += line.rfind(action + "\t", 0) == 0;
    return n;
  };
  const Result steps = run("run --config " + exp + " --dry-run run.log_every_steps=5");
  ASSERT_EQ(steps.code, 0) << steps.out;
  EXPECT_EQ(count(steps.out, "reuse"), 4) << steps.out;  // the teacher, the subset, two students
  const Result val = run("run --config " + exp + " --dry-run data.val_split=0.1");
  ASSERT_EQ(val.code, 0) << val.out;
  EXPECT_EQ(count(val.out, "rerun"), 3) << val.out;
  EXPECT_NE(val.out.find("reuse\tprune-random-f0.5-s0"), std::string::npos) << "selection trains nothing: " << val.out;
  EXPECT_NE(val.out.find("changed: data.val_split 0.25 -> 0.1"), std::string::npos) << val.out;
}
