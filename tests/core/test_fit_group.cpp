// Students trained together (train::fit_group) train exactly as each alone, sharing batches and
// one teacher forward per step.
#include <gtest/gtest.h>

#include <filesystem>
#include <limits>
#include <numeric>
#include <tuple>

#include "kdprune/losses/distill_objective.h"
#include "kdprune/train/checkpoint.h"
#include "kdprune/train/trainer.h"
#include "kdprune/util/error.h"
#include "tiny_data.h"
#include "test_files.h"

using namespace kdprune;

namespace {
data::TensorDataset tiny(int64_t train) { return test::tiny_synthetic(train, 24); }
TrainSection recipe() {
  TrainSection t;
  t.epochs = 3, t.batch_size = 16, t.lr = 0.05, t.warmup_epochs = 1, t.schedule = "cosine", t.checkpoint_every = 1;
  t.amp = "off", t.channels_last = "false";  // fp32: the paths are compared to float rounding
  return t;
}
// Cross-entropy that turns NaN in the second epoch (host-side: for the eager steps only).
torch::Tensor nan_in_epoch_2(const torch::Tensor& x, const models::ModelOutput& out, const torch::Tensor& y,
                             const train::BatchInfo& batch) {
  const auto ce = train::cross_entropy_loss(x, out, y, batch);
  return batch.epoch == 1 ? ce * std::numeric_limits<float>::quiet_NaN() : ce;
}
bool same_weights(const models::Model& a, const models::Model& b) {
  auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    if (!torch::equal(pa[i], pb[i])) return false;
  auto ba = a->buffers(), bb = b->buffers();
  for (size_t i = 0; i < ba.size(); ++i)
    if (!torch::equal(ba[i], bb[i])) return false;
  return true;
}
}  // namespace

TEST(FitGroup, EachStudentTrainsAsAloneWithOneTeacherForwardPerStep) {
  const auto data = tiny(70);  // 4 full batches of 16 + 6
  std::vector<int64_t> idx(70);
  std::iota(idx.begin(), idx.end(), 0);
  const TrainSection t = recipe();
  torch::manual_seed(7);
  auto teacher = models::create_model("resnet8", {1, 4, 8});
  KdSection k;
  const std::vector<double> alphas = {0.0, 0.5, 0.9};
  // Alone.
  std::vector<train::TrainResult> alone;
  std::vector<models::Model> alone_models;
  for (double a : alphas) {
    torch::manual_seed(3);
    auto m = models::create_model("resnet8", {1, 4, 8});
    const auto o = losses::distill_objective(teacher, nullptr, k, a, "off", {1, 8, 8});
    alone.push_back(train::fit({.model = *m, .data = data, .indices = idx, .train = t, .seed = 11, .loss = o.loss,
                                .show_progress = false}));
    alone_models.push_back(m);
  }
  // Together, one teacher cache.
  auto cache = std::make_shared<losses::TeacherCache>();
  std::vector<models::Model> group_models;
  std::vector<train::TrainInputs> runs;
  std::vector<losses::Objective> objectives;
  for (double a : alphas) {
    torch::manual_seed(3);
    group_models.push_back(models::create_model("resnet8", {1, 4, 8}));
    objectives.push_back(losses::distill_objective(teacher, nullptr, k, a, "off", {1, 8, 8}, {}, cache));
  }
  for (size_t i = 0; i < alphas.size(); ++i)
    runs.push_back({.model = *group_models[i], .data = data, .indices = idx, .train = t, .seed = 11,
                    .loss = objectives[i].loss, .prelude = objectives[i].prelude, .show_progress = false});
  const auto together = train::fit_group(runs, {"a0", "a0.5", "a0.9"});
  ASSERT_EQ(together.size(), 3u);
  for (size_t i = 0; i < alphas.size(); ++i) {
    ASSERT_EQ(together[i].epoch_train_loss.size(), 3u);
    for (size_t e = 0; e < 3; ++e)
      EXPECT_NEAR(together[i].epoch_train_loss[e], alone[i].epoch_train_loss[e], 1e-6 * alone[i].epoch_train_loss[e])
          << "alpha " << alphas[i] << " epoch " << e;
    EXPECT_DOUBLE_EQ(together[i].final_eval.top1, alone[i].final_eval.top1);
    EXPECT_TRUE(same_weights(group_models[i], alone_models[i])) << "alpha " << alphas[i];
  }
  // α = 0 has no KD term (and runs no teacher); the two others share one forward per step.
  EXPECT_EQ(cache->forwards, 3 * 5);
}

TEST(FitGroup, AStudentResumedLaterJoinsAtItsEpoch) {
  const auto data = tiny(48);
  std::vector<int64_t> idx(48);
  std::iota(idx.begin(), idx.end(), 0);
  const TrainSection t = recipe();
  kdprune::test::TempDir dir;
  auto train_alone = [&](const std::string& ck, int64_t stop) {
    torch::manual_seed(3);
    auto m = models::create_model("resnet8", {1, 4, 8});
    train::fit({.model = *m, .data = data, .indices = idx, .train = t, .seed = 5, .checkpoint_path = ck, .resume = true,
                .show_progress = false, .stop_epoch = stop});
    return m;
  };
  const auto reference = train_alone(dir.file("ref.pt"), -1);
  train_alone(dir.file("b.pt"), 2);  // student b has 2 epochs done, student a none
  EXPECT_EQ(train::checkpoint_epochs_done(dir.file("b.pt")), 2);
  torch::manual_seed(3);
  auto a = models::create_model("resnet8", {1, 4, 8});
  torch::manual_seed(99);  // b's fresh weights are replaced by its checkpoint
  auto b = models::create_model("resnet8", {1, 4, 8});
  const std::vector<train::TrainInputs> runs = {
      {.model = *a, .data = data, .indices = idx, .train = t, .seed = 5, .checkpoint_path = dir.file("a.pt"), .resume = true,
       .show_progress = false},
      {.model = *b, .data = data, .indices = idx, .train = t, .seed = 5, .checkpoint_path = dir.file("b.pt"), .resume = true,
       .show_progress = false}};
  const auto r = train::fit_group(runs);
  EXPECT_EQ(r[0].epoch_train_loss.size(), 3u);
  EXPECT_EQ(r[1].epoch_train_loss.size(), 1u) << "b trains only its last epoch";
  EXPECT_TRUE(same_weights(a, reference));
  EXPECT_TRUE(same_weights(b, reference));
}

// An α × f × seed grid in one group: students of two views (f = 0.5 and 1), two seeds, a batch
// size of their own and α = 0 beside KD students form cohorts, each stepped in turn and each
// through its own epochs; every student ends with the weights it gets alone, and a cohort's KD
// students share one teacher forward per step (none across cohorts: their batches differ).
namespace {
struct Mixed {
  std::vector<int64_t> view;
  int64_t seed;
  double alpha;
  int64_t batch;
};
std::vector<Mixed> grid(const std::vector<int64_t>& half, const std::vector<int64_t>& all) {
  return {{half, 11, 0.5, 16}, {half, 11, 0.0, 16}, {all, 11, 0.5, 16}, {half, 12, 0.5, 16}, {all, 12, 0.9, 8}};
}
}  // namespace

TEST(FitGroup, AGridOfViewsSeedsAndAlphasTrainsEachStudentAsAlone) {
  const auto data = tiny(80);
  std::vector<int64_t> all(80), half;
  std::iota(all.begin(), all.end(), 0);
  for (int64_t i = 0; i < 80; i += 2) half.push_back(i);  // 40: 2 full batches of 16 + 8
  const TrainSection base = recipe();
  torch::manual_seed(7);
  auto teacher = models::create_model("resnet8", {1, 4, 8});
  const auto students = grid(half, all);
  auto recipe_of = [&](const Mixed& m) {
    TrainSection t = base;
    t.batch_size = m.batch;
    return t;
  };
  std::vector<TrainSection> recipes;
  for (const auto& m : students) recipes.push_back(recipe_of(m));
  std::vector<train::TrainResult> alone;
  std::vector<models::Model> alone_models;
  for (size_t i = 0; i < students.size(); ++i) {
    torch::manual_seed(static_cast<uint64_t>(students[i].seed));
    auto m = models::create_model("resnet8", {1, 4, 8});
    const auto o = losses::distill_objective(teacher, nullptr, KdSection{}, students[i].alpha, "off", {1, 8, 8});
    alone.push_back(train::fit({.model = *m, .data = data, .indices = students[i].view, .train = recipes[i],
                                .seed = students[i].seed, .loss = o.loss, .show_progress = false}));
    alone_models.push_back(m);
  }
  auto cache = std::make_shared<losses::TeacherCache>();
  std::vector<models::Model> group_models;
  std::vector<losses::Objective> objectives;
  std::vector<train::TrainInputs> runs;
  for (const auto& st : students) {
    torch::manual_seed(static_cast<uint64_t>(st.seed));
    group_models.push_back(models::create_model("resnet8", {1, 4, 8}));
    objectives.push_back(losses::distill_objective(teacher, nullptr, KdSection{}, st.alpha, "off", {1, 8, 8}, {}, cache));
  }
  for (size_t i = 0; i < students.size(); ++i)
    runs.push_back({.model = *group_models[i], .data = data, .indices = students[i].view, .train = recipes[i],
                    .seed = students[i].seed, .loss = objectives[i].loss, .prelude = objectives[i].prelude,
                    .show_progress = false});
  const auto together = train::fit_group(runs);
  ASSERT_EQ(together.size(), students.size());
  for (size_t i = 0; i < students.size(); ++i) {
    ASSERT_TRUE(together[i].error.empty()) << together[i].error;
    ASSERT_EQ(together[i].epoch_train_loss.size(), 3u) << "student " << i;
    for (size_t e = 0; e < 3; ++e)
      EXPECT_NEAR(together[i].epoch_train_loss[e], alone[i].epoch_train_loss[e], 1e-6 * alone[i].epoch_train_loss[e])
          << "student " << i << " epoch " << e;
    EXPECT_DOUBLE_EQ(together[i].final_eval.top1, alone[i].final_eval.top1) << "student " << i;
    EXPECT_TRUE(same_weights(group_models[i], alone_models[i])) << "student " << i;
  }
  // Cohorts: {0, 1} (one forward per step for student 0; α = 0 runs none), {2}, {3}, {4}; per
  // epoch 3 + 5 + 3 + 10 steps.
  EXPECT_EQ(cache->forwards, 3 * (3 + 5 + 3 + 10));
}

TEST(FitGroup, ANonFiniteStudentStopsAloneAndTheOthersFinish) {
  const auto data = tiny(48);
  std::vector<int64_t> idx(48);
  std::iota(idx.begin(), idx.end(), 0);
  const TrainSection t = recipe();
  torch::manual_seed(3);
  auto a = models::create_model("resnet8", {1, 4, 8}), b = models::create_model("resnet8", {1, 4, 8});
  const train::LossFn diverging = nan_in_epoch_2;
  const auto r = train::fit_group({{.model = *a, .data = data, .indices = idx, .train = t, .show_progress = false},
                                   {.model = *b, .data = data, .indices = idx, .train = t, .loss = diverging,
                                    .show_progress = false}});
  EXPECT_TRUE(r[0].error.empty()) << r[0].error;
  EXPECT_EQ(r[0].epoch_train_loss.size(), 3u);
  EXPECT_NE(r[1].error.find("non-finite training loss at epoch 2"), std::string::npos) << r[1].error;
  // Alone, the same loss stops fit() with the error, as always.
  EXPECT_THROW(train::fit({.model = *b, .data = data, .indices = idx, .train = t, .loss = diverging, .show_progress = false}),
               Error);
  // The longest cohort's only student stops: a cohort of half the view (6 steps to its 9, so it steps
  // two turns in three until then) trains on (the progress line moves to it) and ends as it ends alone.
  const std::vector<int64_t> half(idx.begin(), idx.begin() + 24);
  torch::manual_seed(3);
  auto c = models::create_model("resnet8", {1, 4, 8}), d = models::create_model("resnet8", {1, 4, 8});
  torch::manual_seed(3);
  auto alone = models::create_model("resnet8", {1, 4, 8});
  const auto mixed = train::fit_group({{.model = *d, .data = data, .indices = idx, .train = t, .loss = diverging,
                                        .show_progress = false},
                                       {.model = *c, .data = data, .indices = half, .train = t}});
  EXPECT_FALSE(mixed[0].error.empty());
  EXPECT_TRUE(mixed[1].error.empty()) << mixed[1].error;
  EXPECT_EQ(mixed[1].epoch_train_loss.size(), 3u);
  train::fit({.model = *alone, .data = data, .indices = half, .train = t, .show_progress = false});
  EXPECT_TRUE(same_weights(c, alone));
}

// The group's device-indexed step (one batch made on the device, each student's update on its own
// stream on a GPU; run eagerly here) trains every student as the standard group step does, one
// teacher forward per step; a student that stops mid-run makes the step be rebuilt for the rest.
namespace {
struct GroupRun {
  std::vector<train::TrainResult> results;
  std::vector<models::Model> models;
  int64_t teacher_forwards = 0;
};
// Students α = 0, 0.5, 0.9 and a fourth whose loss turns NaN in epoch 2 (lr 1e12 on a GPU, where
// the loss is captured once and host-side tricks cannot reach it).
GroupRun kd_group(const data::TensorDataset& data, const std::vector<int64_t>& idx, const TrainSection& t,
                  const TrainSection& wild, const models::Model& teacher, bool device_step, const train::LossFn& fourth) {
  GroupRun g;
  auto cache = std::make_shared<losses::TeacherCache>();
  std::vector<losses::Objective> objectives;
  const auto spec = models::ModelSpec{data.train.images.size(1), 4, data.train.images.size(2)};
  const std::vector<int64_t> input = {data.train.images.size(1), data.train.images.size(2), data.train.images.size(3)};
  for (double a : {0.0, 0.5, 0.9}) {
    torch::manual_seed(3);
    g.models.push_back(models::create_model("resnet8", spec));
    objectives.push_back(losses::distill_objective(teacher, nullptr, KdSection{}, a, t.amp, input, {}, cache));
  }
  torch::manual_seed(3);
  g.models.push_back(models::create_model("resnet8", spec));
  std::vector<train::TrainInputs> runs;
  for (size_t i = 0; i < 4; ++i)
    runs.push_back({.model = *g.models[i], .data = data, .indices = idx, .train = i < 3 ? t : wild, .seed = 11,
                    .loss = i < 3 ? objectives[i].loss : fourth, .prelude = i < 3 ? objectives[i].prelude : nullptr,
                    .show_progress = false, .loss_capturable = true,
                    .device_step = device_step});
  g.results = train::fit_group(runs);
  g.teacher_forwards = cache->forwards;
  return g;
}
}  // namespace

TEST(FitGroup, TheDeviceStepTrainsAGroupAsTheStandardStep) {
  const auto data = tiny(70);  // 4 full batches of 16 + 6
  std::vector<int64_t> idx(70);
  std::iota(idx.begin(), idx.end(), 0);
  const TrainSection t = recipe();
  torch::manual_seed(7);
  auto teacher = models::create_model("resnet8", {1, 4, 8});
  const train::LossFn diverging = nan_in_epoch_2;
  const auto standard = kd_group(data, idx, t, t, teacher, false, diverging);
  const auto device = kd_group(data, idx, t, t, teacher, true, diverging);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(device.results[i].error.empty()) << device.results[i].error;
    ASSERT_EQ(device.results[i].epoch_train_loss.size(), 3u);
    // As in DeviceStep.MatchesTheStandardStepOnCpu: the two updates round differently.
    for (size_t e = 0; e < 3; ++e)
      EXPECT_NEAR(device.results[i].epoch_train_loss[e], standard.results[i].epoch_train_loss[e],
                  1e-4 * standard.results[i].epoch_train_loss[e])
          << "student " << i << " epoch " << e;
    EXPECT_NEAR(device.results[i].final_eval.top1, standard.results[i].final_eval.top1, 1e-9 + 100.0 / 24) << "student " << i;
  }
  EXPECT_NE(device.results[3].error.find("non-finite training loss at epoch 2"), std::string::npos) << device.results[3].error;
  EXPECT_EQ(device.teacher_forwards, 15);
  EXPECT_EQ(standard.teacher_forwards, 15);
}

// On a GPU: the group captured as one CUDA graph (a stream per student) trains as the eager device
// step; a diverging student stops alone and the others' step is captured again without it.
TEST(CudaGraph, AGroupCapturedOnStreamsTrainsAsTheEagerGroup) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  DataSection d;
  d.name = "synthetic";
  d.synthetic = {200, 64, 3, 32, 32, 4, 0.5};  // 3 × 64 + 8: the short batch runs eagerly
  const auto data = data::to_tensors(data::load_dataset(d, 1), torch::Device(torch::kCUDA));
  std::vector<int64_t> idx(200);
  std::iota(idx.begin(), idx.end(), 0);
  TrainSection t;
  t.epochs = 3, t.batch_size = 64, t.lr = 0.05, t.warmup_epochs = 1, t.schedule = "cosine", t.checkpoint_every = 0;
  t.amp = "off";  // the objectives' teacher autocast takes a resolved precision (fit_group resolves only the runs')
  TrainSection wild = t;
  wild.lr = 1e12, wild.warmup_epochs = 0;
  torch::manual_seed(7);
  auto teacher = models::create_model("resnet8", {3, 4, 32});
  teacher->to(torch::kCUDA);
  std::vector<GroupRun> runs;
  for (const std::string mode : {"off", "on"}) {
    t.cuda_graph = wild.cuda_graph = mode;
    runs.push_back(kd_group(data, idx, t, wild, teacher, true, train::cross_entropy_loss));
  }
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(runs[1].results[i].error.empty()) << runs[1].results[i].error;
    ASSERT_EQ(runs[1].results[i].epoch_train_loss.size(), 3u);
    for (size_t e = 0; e < 3; ++e)
      EXPECT_NEAR(runs[1].results[i].epoch_train_loss[e], runs[0].results[i].epoch_train_loss[e],
                  2e-3 * runs[0].results[i].epoch_train_loss[e])
          << "student " << i << " epoch " << e;
  }
  for (const auto& r : runs) EXPECT_NE(r.results[3].error.find("non-finite training loss"), std::string::npos) << r.results[3].error;
}

// On a GPU: a grid of two views and two seeds in one group, each cohort's step captured as a CUDA
// graph of its own, trains every student as the same group stepping eagerly.
TEST(CudaGraph, AGridOfCohortsCapturedTrainsAsTheEagerGrid) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  DataSection d;
  d.name = "synthetic";
  d.synthetic = {200, 64, 3, 32, 32, 4, 0.5};
  const auto data = data::to_tensors(data::load_dataset(d, 1), torch::Device(torch::kCUDA));
  std::vector<int64_t> all(200), part;
  std::iota(all.begin(), all.end(), 0);
  for (int64_t i = 0; i < 200; i += 3) part.push_back(i);  // 67: one full batch of 64 + 3
  torch::manual_seed(7);
  auto teacher = models::create_model("resnet8", {3, 4, 32});
  teacher->to(torch::kCUDA);
  std::vector<std::vector<train::TrainResult>> results;
  for (const std::string mode : {"off", "on"}) {
    TrainSection t;
    t.epochs = 3, t.batch_size = 64, t.lr = 0.05, t.schedule = "cosine", t.checkpoint_every = 0, t.cuda_graph = mode;
    auto cache = std::make_shared<losses::TeacherCache>();
    std::vector<models::Model> nets;
    std::vector<losses::Objective> objectives;
    std::vector<train::TrainInputs> runs;
    const std::vector<std::tuple<const std::vector<int64_t>*, int64_t, double>> grid = {
        {&part, 1, 0.5}, {&part, 1, 0.0}, {&all, 1, 0.9}, {&part, 2, 0.5}};
    for (const auto& [view, seed, alpha] : grid) {
      torch::manual_seed(static_cast<uint64_t>(seed));
      nets.push_back(models::create_model("resnet8", {3, 4, 32}));
      objectives.push_back(losses::distill_objective(teacher, nullptr, KdSection{}, alpha, "off", {3, 32, 32}, {}, cache));
    }
    for (size_t i = 0; i < grid.size(); ++i)
      runs.push_back({.model = *nets[i], .data = data, .indices = *std::get<0>(grid[i]), .train = t,
                      .seed = std::get<1>(grid[i]), .loss = objectives[i].loss, .prelude = objectives[i].prelude,
                      .show_progress = false,
                      .loss_capturable = true, .device_step = true});
    results.push_back(train::fit_group(runs));
  }
  for (size_t i = 0; i < results[0].size(); ++i) {
    ASSERT_TRUE(results[1][i].error.empty()) << results[1][i].error;
    ASSERT_EQ(results[1][i].epoch_train_loss.size(), 3u);
    for (size_t e = 0; e < 3; ++e)
      EXPECT_NEAR(results[1][i].epoch_train_loss[e], results[0][i].epoch_train_loss[e], 2e-3 * results[0][i].epoch_train_loss[e])
          << "student " << i << " epoch " << e;
  }
}

// On a GPU: train.cuda_graph=on for a student whose cohort mate's step cannot be captured is one
// line naming both and the reason, before anything trains.
TEST(CudaGraph, OnBesideAnUncapturableCohortMateIsOneLineNamingIt) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  DataSection d;
  d.name = "synthetic";
  d.synthetic = {64, 16, 3, 32, 32, 4, 0.5};
  const auto data = data::to_tensors(data::load_dataset(d, 1), torch::Device(torch::kCUDA));
  std::vector<int64_t> idx(64);
  std::iota(idx.begin(), idx.end(), 0);
  TrainSection on;
  on.epochs = 1, on.batch_size = 32, on.checkpoint_every = 0, on.amp = "off", on.cuda_graph = "on";
  TrainSection automatic = on;
  automatic.cuda_graph = "auto";
  auto a = models::create_model("resnet8", {3, 4, 32}), b = models::create_model("resnet8", {3, 4, 32});
  a->to(torch::kCUDA), b->to(torch::kCUDA);
  try {
    train::fit_group({{.model = *a, .data = data, .indices = idx, .train = on, .show_progress = false, .loss_capturable = true},
                      {.model = *b, .data = data, .indices = idx, .train = automatic, .show_progress = false}},
                     {"student-a0.5", "student-crd"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("train.cuda_graph=on: student-a0.5 shares its batches with student-crd"), std::string::npos) << what;
    EXPECT_NE(what.find("per-step host state"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}
