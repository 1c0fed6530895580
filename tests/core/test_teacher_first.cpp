// The teacher first (TrainInputs::prelude): in every step of a cohort, the work its students'
// losses share (a KD teacher's forward) runs once, on that step's batch, before any student's
// step; cohorts keep their own preludes; a prelude that fails stops its cohort only. Both step
// paths are checked: the host-made batch and the device-indexed step (eager here; on a GPU the
// same order is what the streams and the captured graph are built from).
#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "kdprune/losses/distill_objective.h"
#include "kdprune/train/trainer.h"
#include "kdprune/util/error.h"
#include "tiny_data.h"

using namespace kdprune;

namespace {
data::TensorDataset tiny(int64_t train) { return test::tiny_synthetic(train, 24); }
TrainSection recipe() {
  TrainSection t;
  t.epochs = 2, t.batch_size = 16, t.lr = 0.05, t.schedule = "cosine", t.checkpoint_every = 0;
  t.amp = "off", t.channels_last = "false";
  return t;
}

// Writes "P<name>" into the log for each batch it runs on; fails from `fail_at` runs on.
struct Recorder : train::BatchPrelude {
  std::vector<std::string>* log = nullptr;
  std::string name;
  int64_t runs = 0, fail_at = -1;
  torch::Tensor last;
  void run(const torch::Tensor& x) override {
    if (fail_at >= 0 && runs >= fail_at) throw Error("teacher " + name + " failed on its batch");
    ++runs;
    last = x;
    log->push_back("P" + name);
  }
};

std::shared_ptr<Recorder> recorder(std::vector<std::string>* log, const std::string& name, int64_t fail_at = -1) {
  auto r = std::make_shared<Recorder>();
  r->log = log, r->name = name, r->fail_at = fail_at;
  return r;
}

// The training view of every sample, 0..n-1.
std::vector<int64_t> every(int64_t n) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  return idx;
}

// Cross-entropy that writes "L<name>+" when its prelude ran on this very batch, else "L<name>-".
train::LossFn logged_loss(std::vector<std::string>* log, const std::string& name, const Recorder* prelude) {
  return [=](const torch::Tensor& x, const models::ModelOutput& out, const torch::Tensor& y, const train::BatchInfo& b) {
    log->push_back("L" + name + (prelude && prelude->last.defined() && prelude->last.is_same(x) ? "+" : "-"));
    return train::cross_entropy_loss(x, out, y, b);
  };
}

struct Student {
  std::string name;
  int64_t seed;
  std::shared_ptr<Recorder> prelude;  // null: a student whose loss reads none (alpha = 0)
};

std::vector<train::TrainResult> train_logged(const data::TensorDataset& data, const std::vector<int64_t>& idx,
                                             const std::vector<Student>& students, std::vector<std::string>& log,
                                             bool device_step, std::vector<models::Model>& nets) {
  std::vector<train::TrainInputs> runs;
  for (size_t i = 0; i < students.size(); ++i) {
    torch::manual_seed(3);  // every student starts from the same weights
    nets.push_back(models::create_model("resnet8", {1, 4, 8}));
  }
  for (size_t i = 0; i < students.size(); ++i)
    runs.push_back({.model = *nets[i], .data = data, .indices = idx, .train = recipe(), .seed = students[i].seed,
                    .loss = logged_loss(&log, students[i].name, students[i].prelude.get()),
                    .prelude = students[i].prelude, .show_progress = false, .device_step = device_step});
  return train::fit_group(runs);
}
}  // namespace

TEST(TeacherFirst, ThePreludeRunsOnceOnEachBatchBeforeTheStudentsOfItsCohort) {
  const auto data = tiny(40);  // 2 full batches of 16 + 8: 3 steps an epoch
  const auto idx = every(40);
  for (const bool device_step : {false, true}) {
    SCOPED_TRACE(device_step ? "device step" : "host step");
    std::vector<std::string> log;
    const auto a = recorder(&log, "a"), b = recorder(&log, "b");
    // Cohort seed 1: a1, a2 read prelude a, a0 reads none. Cohort seed 2: b1 reads prelude b.
    const std::vector<Student> students = {{"a0", 1, nullptr}, {"a1", 1, a}, {"b1", 2, b}, {"a2", 1, a}};
    std::vector<models::Model> nets;
    const auto r = train_logged(data, idx, students, log, device_step, nets);
    for (const auto& x : r) ASSERT_TRUE(x.error.empty()) << x.error;
    EXPECT_EQ(a->runs, 2 * 3);
    EXPECT_EQ(b->runs, 2 * 3);
    // Each step of cohort a: its prelude, then its students in member order, each on the prelude's batch.
    std::vector<std::string> of_a, of_b;
    for (const auto& e : log) (e.find('b') != std::string::npos ? of_b : of_a).push_back(e);
    ASSERT_EQ(of_a.size(), 6u * 4);
    for (size_t s = 0; s < 6; ++s) {
      EXPECT_EQ(of_a[4 * s], "Pa") << "step " << s;
      EXPECT_EQ(of_a[4 * s + 1], "La0-") << "step " << s;  // reads no prelude
      EXPECT_EQ(of_a[4 * s + 2], "La1+") << "step " << s;
      EXPECT_EQ(of_a[4 * s + 3], "La2+") << "step " << s;
    }
    ASSERT_EQ(of_b.size(), 6u * 2);
    for (size_t s = 0; s < 6; ++s) {
      EXPECT_EQ(of_b[2 * s], "Pb") << "step " << s;
      EXPECT_EQ(of_b[2 * s + 1], "Lb1+") << "step " << s;
    }
  }
}

TEST(TeacherFirst, AFailingPreludeStopsItsCohortAndTheOtherCohortTrainsAsAlone) {
  const auto data = tiny(40);
  const auto idx = every(40);
  for (const bool device_step : {false, true}) {
    SCOPED_TRACE(device_step ? "device step" : "host step");
    std::vector<std::string> log;
    const auto a = recorder(&log, "a", /*fail_at=*/4), b = recorder(&log, "b");  // a: epoch 2, its second step
    std::vector<models::Model> nets;
    const auto r = train_logged(data, idx, {{"a1", 1, a}, {"a2", 1, a}, {"b1", 2, b}}, log, device_step, nets);
    for (size_t i = 0; i < 2; ++i)
      EXPECT_NE(r[i].error.find("teacher a failed on its batch"), std::string::npos) << r[i].error;
    ASSERT_TRUE(r[2].error.empty()) << r[2].error;
    EXPECT_EQ(r[2].epoch_train_loss.size(), 2u);
    // b1 alone, as the group trained it.
    std::vector<std::string> alone_log;
    const auto b_alone = recorder(&alone_log, "b");
    std::vector<models::Model> alone_nets;
    const auto alone = train_logged(data, idx, {{"b1", 2, b_alone}}, alone_log, device_step, alone_nets);
    auto pa = nets[2]->parameters(), pb = alone_nets[0]->parameters();
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
    EXPECT_DOUBLE_EQ(r[2].final_eval.top1, alone[0].final_eval.top1);
  }
}

// A KD student trained alone with its teacher cache as the prelude trains exactly as one whose loss
// runs the teacher itself (kdprune distill now always passes the cache), one forward per step.
TEST(TeacherFirst, AStudentWithTheCacheAsPreludeTrainsAsWithoutIt) {
  const auto data = tiny(40);
  const auto idx = every(40);
  torch::manual_seed(7);
  auto teacher = models::create_model("resnet8", {1, 4, 8});
  std::vector<models::Model> nets;
  std::vector<train::TrainResult> results;
  auto cache = std::make_shared<losses::TeacherCache>();
  for (const bool prelude : {false, true}) {
    torch::manual_seed(3);
    nets.push_back(models::create_model("resnet8", {1, 4, 8}));
    const auto o = losses::distill_objective(teacher, nullptr, KdSection{}, 0.5, "off", {1, 8, 8}, {},
                                             prelude ? cache : nullptr);
    EXPECT_EQ(o.prelude != nullptr, prelude);
    results.push_back(train::fit({.model = *nets.back(), .data = data, .indices = idx, .train = recipe(), .seed = 4,
                                  .loss = o.loss, .prelude = o.prelude, .show_progress = false}));
  }
  EXPECT_EQ(cache->forwards, 2 * 3);
  auto p0 = nets[0]->parameters(), p1 = nets[1]->parameters();
  for (size_t i = 0; i < p0.size(); ++i) EXPECT_TRUE(torch::equal(p0[i], p1[i])) << "parameter " << i;
  EXPECT_EQ(results[0].epoch_train_loss, results[1].epoch_train_loss);
  // One cache serves one teacher in one precision.
  auto other = models::create_model("resnet8", {1, 4, 8});
  EXPECT_THROW(losses::distill_objective(other, nullptr, KdSection{}, 0.5, "off", {1, 8, 8}, {}, cache), InternalError);
}
