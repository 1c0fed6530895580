// run.log_every_steps: every N global steps a step row (loss, lr, images/s) in metrics.jsonl and
// TensorBoard, from the epoch's running loss sum; resumed runs write each row once; students trained
// together write their own; off, the outputs are as before.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <sstream>

#include "data_parallel_fixtures.h"
#include "kdprune/io/metrics_log.h"
#include "kdprune/train/checkpoint.h"
#include "kdprune/train/lr_schedule.h"
#include "kdprune/train/trainer.h"
#include "test_files.h"
#include "tiny_data.h"

using namespace kdprune;
using kdprune::test::TempDir;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
data::TensorDataset tiny_data() { return test::tiny_synthetic(80, 20, 3); }
// 80 samples in batches of 16: 5 full steps per epoch, 20 in all; a warm-up makes the lr per step.
TrainSection recipe() {
  TrainSection t;
  t.epochs = 4, t.batch_size = 16, t.lr = 0.1, t.schedule = "cosine", t.warmup_epochs = 1, t.checkpoint_every = 1;
  t.amp = "off", t.channels_last = "false";
  return t;
}
std::vector<int64_t> first(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}
struct Rows {
  std::vector<json> steps, epochs;
};
Rows rows_of(const std::string& dir) {
  Rows r;
  std::istringstream in(test::read_bytes(dir + "/metrics.jsonl"));
  for (std::string line; std::getline(in, line);) {
    const json j = json::parse(line);
    (j.contains("step") ? r.steps : r.epochs).push_back(j);
  }
  return r;
}
struct KillAt : train::TrainObserver {
  int64_t epoch = -1, step = -1;
  void on_step(const train::StepRecord& r) override {
    if (r.epoch == epoch && r.step == step) throw std::runtime_error("killed");
  }
};
// Trains a fresh resnet8 (seeded init) with metrics in `dir`.
train::TrainResult train_in(const data::TensorDataset& data, const std::string& dir, int64_t every, bool resume = false,
                            KillAt* kill = nullptr, bool device_step = false) {
  fs::create_directories(dir);
  const std::string ck = dir + "/checkpoint.pt";
  io::MetricsLog log(dir, train::metrics_columns(), resume ? train::checkpoint_epochs_done(ck) : 0);
  torch::manual_seed(11);
  auto m = models::create_model("resnet8", {1, 4, 8});
  const auto idx = first(80);
  std::vector<train::TrainObserver*> obs;
  if (kill) obs.push_back(kill);
  return train::fit({.model = *m, .data = data, .indices = idx, .train = recipe(), .seed = 5, .metrics = &log,
                     .log_every_steps = every, .checkpoint_path = ck, .resume = resume, .observers = obs,
                     .show_progress = false, .device_step = device_step});
}
std::string tensorboard_scalars(const std::string& dir) {
  const std::string cmd = std::string(KDPRUNE_PYTHON) + " " + KDPRUNE_SOURCE_DIR + "/tests/python/read_tensorboard.py " + dir + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  EXPECT_EQ(pclose(p), 0) << out;
  return out;
}
double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-30); }
}  // namespace

// Every step: 20 rows numbered 1..20, epoch progress e + (s+1)/5, the step's lr; an epoch's five
// step losses (16 samples each) average to its row's train_loss.
TEST(StepRows, EveryStepAndTheEpochMeanIsTheEpochsTrainLoss) {
  const auto data = tiny_data();
  TempDir d;
  const auto r = train_in(data, d.path(), 1);
  const Rows rows = rows_of(d.path());
  ASSERT_EQ(rows.steps.size(), 20u);
  ASSERT_EQ(rows.epochs.size(), 4u);
  const TrainSection t = recipe();
  for (int64_t g = 1; g <= 20; ++g) {
    const json& s = rows.steps[static_cast<size_t>(g - 1)];
    const int64_t e = (g - 1) / 5, k = (g - 1) % 5;
    EXPECT_EQ(s["step"].get<int64_t>(), g);
    EXPECT_TRUE(s["step"].is_number_integer());
    EXPECT_TRUE(s["epoch"].is_number_float()) << s;
    EXPECT_DOUBLE_EQ(s["epoch"].get<double>(), static_cast<double>(e) + static_cast<double>(k + 1) / 5.0);
    EXPECT_DOUBLE_EQ(s["lr"].get<double>(), train::lr_at(t, e, k, 5)) << g;
    EXPECT_GT(s["images_per_s"].get<double>(), 0.0);
    EXPECT_EQ(s.size(), 5u) << "step, epoch, lr, loss, images_per_s: " << s;
  }
  for (size_t e = 0; e < 4; ++e) {
    double mean = 0;
    for (size_t k = 0; k < 5; ++k) mean += rows.steps[e * 5 + k]["loss"].get<double>() / 5.0;
    EXPECT_LT(rel(mean, rows.epochs[e]["train_loss"].get<double>()), 1e-12) << "epoch " << e + 1;
    EXPECT_LT(rel(mean, r.epoch_train_loss[e]), 1e-12);
    EXPECT_FALSE(rows.epochs[e].contains("step"));
  }
  // A row's step lines come before its epoch's row.
  std::istringstream in(test::read_bytes(d.file("metrics.jsonl")));
  std::string line;
  for (int i = 0; i < 5; ++i) std::getline(in, line);
  std::getline(in, line);
  EXPECT_EQ(json::parse(line)["epoch"], 1) << line;
  // metrics.csv stays per epoch.
  std::istringstream csv(test::read_bytes(d.file("metrics.csv")));
  int lines = 0;
  for (std::string l; std::getline(csv, l);) ++lines;
  EXPECT_EQ(lines, 5);
  // TensorBoard: the step tags in <run>/steps at the global step, the epoch tags where they were.
  const std::string tb = tensorboard_scalars(d.file("steps"));
  EXPECT_NE(tb.find("step/loss 1 "), std::string::npos) << tb;
  EXPECT_NE(tb.find("step/loss 20 "), std::string::npos) << tb;
  EXPECT_NE(tb.find("step/lr 7 "), std::string::npos) << tb;
  EXPECT_NE(tb.find("step/images_per_s 20 "), std::string::npos) << tb;
  const std::string epochs = tensorboard_scalars(d.path());
  EXPECT_EQ(epochs.find("step/"), std::string::npos) << epochs;
  EXPECT_NE(epochs.find("train/loss 4 "), std::string::npos) << epochs;
}

// Every 3 steps of 5-step epochs: rows at 3, 6, ..., 18, each the mean over the 3 steps since the
// last (the row after an epoch's end covers the end of that epoch too); a resumed run writes each
// row once, with the values of the uninterrupted run; logging changes no weight.
TEST(StepRows, RowsSpanEpochEndsAndAResumedRunWritesEachOnce) {
  const auto data = tiny_data();
  TempDir one, three, resumed, off;
  train_in(data, one.path(), 1);
  const auto ref = train_in(data, three.path(), 3);
  const Rows a = rows_of(one.path()), b = rows_of(three.path());
  ASSERT_EQ(b.steps.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    const int64_t g = 3 * static_cast<int64_t>(i + 1);
    EXPECT_EQ(b.steps[i]["step"].get<int64_t>(), g);
    double mean = 0;  // the every-step rows of steps g-2..g (equal batches)
    for (int64_t s = g - 2; s <= g; ++s) mean += a.steps[static_cast<size_t>(s - 1)]["loss"].get<double>() / 3.0;
    EXPECT_LT(rel(b.steps[i]["loss"].get<double>(), mean), 1e-12) << "row " << g;
    EXPECT_DOUBLE_EQ(b.steps[i]["lr"].get<double>(), a.steps[static_cast<size_t>(g - 1)]["lr"].get<double>());
  }
  // Killed at the 4th step of epoch 3 (global 14): the checkpoint is after epoch 2, and the
  // killed run's row 12 (epoch progress 2.4) is lost work.
  KillAt kill;
  kill.epoch = 2, kill.step = 3;
  EXPECT_THROW(train_in(data, resumed.path(), 3, false, &kill), std::runtime_error);
  EXPECT_EQ(train::checkpoint_epochs_done(resumed.file("checkpoint.pt")), 2);
  const Rows killed = rows_of(resumed.path());
  ASSERT_EQ(killed.steps.size(), 4u) << "rows 3, 6, 9, 12: those of an unfinished epoch are written too";
  const auto r = train_in(data, resumed.path(), 3, true);
  EXPECT_EQ(r.resumed_from, 2);
  EXPECT_DOUBLE_EQ(r.final_eval.top1, ref.final_eval.top1);
  const Rows c = rows_of(resumed.path());
  ASSERT_EQ(c.steps.size(), 6u) << test::read_bytes(resumed.file("metrics.jsonl"));
  ASSERT_EQ(c.epochs.size(), 4u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(c.steps[i]["step"], b.steps[i]["step"]);
    EXPECT_EQ(c.steps[i]["epoch"], b.steps[i]["epoch"]);
    EXPECT_DOUBLE_EQ(c.steps[i]["loss"].get<double>(), b.steps[i]["loss"].get<double>()) << "row " << 3 * (i + 1);
  }
  // TensorBoard: the killed run's point at 12 is dropped; each step once, the resumed values.
  const std::string tb = tensorboard_scalars(resumed.file("steps"));
  size_t points = 0;
  for (size_t at = tb.find("step/loss "); at != std::string::npos; at = tb.find("step/loss ", at + 1)) ++points;
  EXPECT_EQ(points, 6u) << tb;
  const auto at12 = tb.find("step/loss 12 ");
  ASSERT_NE(at12, std::string::npos) << tb;
  EXPECT_NEAR(std::stod(tb.substr(at12 + 13)), c.steps[3]["loss"].get<double>(), 1e-6) << "TensorBoard stores float32";
  // Off: no step rows, no steps folder, the same epoch rows (bar the clock) and weights.
  train_in(data, off.path(), 0);
  EXPECT_FALSE(fs::exists(off.file("steps")));
  const Rows o = rows_of(off.path());
  EXPECT_TRUE(o.steps.empty());
  ASSERT_EQ(o.epochs.size(), b.epochs.size());
  for (size_t e = 0; e < o.epochs.size(); ++e) {
    json x = o.epochs[e], y = b.epochs[e];
    for (auto* j : {&x, &y}) j->erase("images_per_s"), j->erase("seconds");
    EXPECT_EQ(x, y) << e;
  }
}

// A group: each student writes its own rows, at its own steps per epoch (a smaller view, its
// own cohort), and students of one cohort the same number.
TEST(StepRows, EachStudentOfAGroupWritesItsOwnRows) {
  const auto data = tiny_data();
  TempDir d;
  const auto all = first(80), part = first(48);  // 5 and 3 steps per epoch
  std::vector<std::unique_ptr<io::MetricsLog>> logs;
  std::vector<models::Model> models;
  std::vector<train::TrainInputs> runs;
  for (int i = 0; i < 3; ++i) {
    const std::string dir = d.file("s" + std::to_string(i));
    fs::create_directories(dir);
    logs.push_back(std::make_unique<io::MetricsLog>(dir, train::metrics_columns(), 0));
    torch::manual_seed(3);
    models.push_back(models::create_model("resnet8", {1, 4, 8}));
    TrainSection t = recipe();
    if (i == 1) t.lr = 0.05;
    runs.push_back({.model = *models.back(), .data = data, .indices = i == 2 ? part : all, .train = t, .seed = 5,
                    .metrics = logs.back().get(), .log_every_steps = 2, .show_progress = false});
  }
  const auto results = train::fit_group(runs, {"a", "b", "c"});
  logs.clear();  // written
  for (const auto& r : results) EXPECT_TRUE(r.error.empty()) << r.error;
  const std::vector<size_t> expected = {10, 10, 6};  // 20 and 12 steps, a row every 2
  for (size_t i = 0; i < 3; ++i) {
    const Rows rows = rows_of(d.file("s" + std::to_string(i)));
    ASSERT_EQ(rows.steps.size(), expected[i]) << i;
    EXPECT_EQ(rows.steps.back()["step"].get<int64_t>(), 2 * static_cast<int64_t>(expected[i]));
    EXPECT_DOUBLE_EQ(rows.steps.back()["epoch"].get<double>(), 4.0) << i;
    EXPECT_DOUBLE_EQ(rows.steps.front()["epoch"].get<double>(), i == 2 ? 2.0 / 3.0 : 0.4) << i;
    EXPECT_TRUE(fs::exists(d.file("s" + std::to_string(i) + "/steps")));
  }
  // Students a and b share every batch but not the lr: their losses differ after the first row.
  EXPECT_NE(rows_of(d.file("s0")).steps[5]["loss"], rows_of(d.file("s1")).steps[5]["loss"]);
}

// The device-indexed step (what a CUDA graph captures) reads the same running sums.
TEST(StepRows, TheDeviceStepWritesTheSameRows) {
  const auto data = tiny_data();
  TempDir host, device;
  train_in(data, host.path(), 2);
  train_in(data, device.path(), 2, false, nullptr, true);
  const Rows a = rows_of(host.path()), b = rows_of(device.path());
  ASSERT_EQ(a.steps.size(), 10u);
  ASSERT_EQ(b.steps.size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(a.steps[i]["step"], b.steps[i]["step"]);
    EXPECT_LT(rel(b.steps[i]["loss"].get<double>(), a.steps[i]["loss"].get<double>()), 1e-3) << i;  // float rounding, compounded
  }
}

// Data-parallel: the row's loss is the whole step's (the ranks' running sums added), and only
// rank 0 writes; two ranks of half the batch write the rows of one process of the whole.
TEST(StepRows, DataParallelRowsAreTheWholeStepsWrittenByRankZero) {
  if (!dist::Collective::available()) GTEST_SKIP() << "built without c10d Gloo";
  const auto data = test::tiny(70);  // global batches of 16: 4 full + 6 (3 per rank)
  const auto idx = first(70);
  TempDir one, two;
  {
    io::MetricsLog log(one.path(), train::metrics_columns(), 0);
    auto net = test::plain_net(3);
    train::fit({.model = *net, .data = data, .indices = idx, .train = test::recipe(16), .seed = 11, .metrics = &log,
                .log_every_steps = 2, .show_progress = false});
  }
  {
    io::MetricsLog log(two.path(), train::metrics_columns(), 0);
    std::vector<std::shared_ptr<test::PlainNet>> nets = {test::plain_net(3), test::plain_net(99)};
    const auto errors = test::run_ranks(2, [&](int64_t r, dist::Collective& c) {
      train::fit({.model = *nets[static_cast<size_t>(r)], .data = data, .indices = idx, .train = test::recipe(8), .seed = 11,
                  .metrics = r == 0 ? &log : nullptr, .log_every_steps = 2, .show_progress = false, .collective = &c});
    });
    for (const auto& e : errors) ASSERT_EQ(e, "");
  }
  const Rows a = rows_of(one.path()), b = rows_of(two.path());
  ASSERT_EQ(a.steps.size(), 7u);  // 15 steps, a row every 2
  ASSERT_EQ(b.steps.size(), a.steps.size());
  for (size_t i = 0; i < a.steps.size(); ++i) {
    EXPECT_EQ(b.steps[i]["step"], a.steps[i]["step"]);
    EXPECT_LT(rel(b.steps[i]["loss"].get<double>(), a.steps[i]["loss"].get<double>()), 1e-5) << "row " << i;
  }
}
