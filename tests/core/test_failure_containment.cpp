// One student of a group failing — with any exception type, in its step — stops alone: its result
// names it and says what failed, and the others train exactly as they would have without it.
#include <gtest/gtest.h>

#include <c10/util/Exception.h>

#include <new>
#include <numeric>

#include "kdprune/data/dataset_registry.h"
#include "kdprune/train/trainer.h"
#include "test_files.h"

using namespace kdprune;

namespace {

data::TensorDataset tiny() {
  DataSection d;
  d.name = "synthetic";
  d.synthetic = {96, 16, 1, 8, 8, 4, 0.5};
  return data::to_tensors(data::load_dataset(d, 1), torch::Device(torch::kCPU));
}

// Cross-entropy that throws `kind` at (epoch 1, step 2).
train::LossFn failing(const std::string& kind) {
  return [kind](const torch::Tensor& x, const models::ModelOutput& out, const torch::Tensor& y, const train::BatchInfo& b) {
    if (b.epoch == 1 && b.step == 2) {
      if (kind == "c10") TORCH_CHECK(false, "injected LibTorch failure");
      if (kind == "bad_alloc") throw std::bad_alloc();
      if (kind == "std") throw std::runtime_error("injected std failure");
      throw Error("injected kdprune failure");
    }
    return train::cross_entropy_loss(x, out, y, b);
  };
}

std::vector<torch::Tensor> weights(const models::Model& m) {
  std::vector<torch::Tensor> w;
  for (const auto& p : m->parameters()) w.push_back(p.detach().clone());
  return w;
}

struct Student {
  models::Model model;
  std::vector<int64_t> view;
  int64_t seed;
  train::LossFn loss;
};

// Trains `students` together (`device_step`: the device path; else the host path).
std::vector<train::TrainResult> train_together(std::vector<Student>& students, const data::TensorDataset& data,
                                               bool device_step, const std::vector<std::string>& names) {
  TrainSection t;
  t.epochs = 3, t.batch_size = 16, t.lr = 0.05, t.schedule = "cosine", t.checkpoint_every = 0;
  t.amp = "off", t.channels_last = "false";
  std::vector<train::TrainInputs> runs;
  for (auto& s : students)
    runs.push_back({.model = *s.model, .data = data, .indices = s.view, .train = t, .seed = s.seed, .loss = s.loss,
                    .show_progress = false, .loss_capturable = true, .device_step = device_step});
  return train::fit_group(runs, names);
}

std::vector<Student> make_students(const std::vector<std::string>& kinds, const std::vector<int64_t>& view_a,
                                   const std::vector<int64_t>& view_b) {
  std::vector<Student> out;
  for (size_t i = 0; i < kinds.size(); ++i) {
    torch::manual_seed(static_cast<int64_t>(10 + i));
    // Students 0-2 share batches (one cohort); student 3 is on another view (a cohort of its own).
    out.push_back({models::create_model("resnet8", {1, 4, 8}), i < 3 ? view_a : view_b, 5,
                   kinds[i].empty() ? train::LossFn(train::cross_entropy_loss) : failing(kinds[i])});
  }
  return out;
}

}  // namespace

TEST(FailureContainment, AStudentFailingWithAnyExceptionStopsAloneAndIsNamed) {
  const auto data = tiny();
  std::vector<int64_t> all(96), half(48);
  std::iota(all.begin(), all.end(), 0);
  std::iota(half.begin(), half.end(), 0);
  const std::vector<std::string> names{"f0.5-a0.1", "f0.5-a0.5", "f0.5-a0.9", "f1-a0.5"};
  for (const bool device_step : {false, true})
    for (const std::string kind : {"c10", "bad_alloc", "std", "kdprune"}) {
      SCOPED_TRACE(kind + (device_step ? " (device path)" : " (host path)"));
      // Student 1 fails in the first cohort; student 3 (another cohort) fails the same way.
      auto group = make_students({"", kind, "", kind}, all, half);
      const auto r = train_together(group, data, device_step, names);
      ASSERT_EQ(r.size(), 4u);
      for (const size_t bad : {1u, 3u}) {
        EXPECT_NE(r[bad].error.find("[" + names[bad] + "]"), std::string::npos) << r[bad].error;
        const std::string what = kind == "c10"         ? "injected LibTorch failure"
                                 : kind == "bad_alloc" ? "std::bad_alloc"
                                 : kind == "std"       ? "injected std failure"
                                                       : "injected kdprune failure";
        EXPECT_NE(r[bad].error.find(what), std::string::npos) << r[bad].error;
        // LibTorch's C++ backtrace stays out of the one line.
        EXPECT_EQ(r[bad].error.find("frame #"), std::string::npos) << r[bad].error;
      }
      // The others finished, each exactly as in a group without the failing students.
      auto clean = make_students({"", "", "", ""}, all, half);
      train_together(clean, data, device_step, names);
      for (const size_t good : {0u, 2u}) {
        EXPECT_EQ(r[good].error, "");
        EXPECT_EQ(r[good].epochs, 3);
        const auto a = weights(group[good].model), b = weights(clean[good].model);
        ASSERT_EQ(a.size(), b.size());
        for (size_t p = 0; p < a.size(); ++p) EXPECT_TRUE(torch::equal(a[p], b[p])) << "student " << good << " parameter " << p;
      }
    }
}

// Alone, a failure is thrown as it is (the command reports it), whatever its type.
TEST(FailureContainment, AloneTheFailureIsThrownAsItIs) {
  const auto data = tiny();
  std::vector<int64_t> all(96);
  std::iota(all.begin(), all.end(), 0);
  auto one = make_students({"c10"}, all, all);
  EXPECT_THROW(train_together(one, data, false, {}), c10::Error);
}

// A student that cannot start (a damaged checkpoint to resume from) or a cohort that cannot (an
// empty view) fails alone too; the others train.
TEST(FailureContainment, AStudentOrCohortThatCannotStartFailsAlone) {
  const auto data = tiny();
  std::vector<int64_t> all(96), none;
  std::iota(all.begin(), all.end(), 0);
  test::TempDir d;
  test::write_bytes(d.file("damaged.pt"), "not a checkpoint");
  TrainSection t;
  t.epochs = 2, t.batch_size = 16, t.checkpoint_every = 0, t.amp = "off", t.channels_last = "false";
  std::vector<models::Model> m;
  for (int i = 0; i < 3; ++i) m.push_back(models::create_model("resnet8", {1, 4, 8}));
  std::vector<train::TrainInputs> runs;
  runs.push_back({.model = *m[0], .data = data, .indices = all, .train = t, .show_progress = false});
  runs.push_back({.model = *m[1], .data = data, .indices = all, .train = t, .checkpoint_path = d.file("damaged.pt"),
                  .resume = true, .show_progress = false});
  runs.push_back({.model = *m[2], .data = data, .indices = none, .train = t, .show_progress = false});
  const auto r = train::fit_group(runs, {"fine", "damaged", "empty"});
  EXPECT_EQ(r[0].error, "");
  EXPECT_EQ(r[0].epochs, 2);
  EXPECT_NE(r[1].error.find("[damaged]"), std::string::npos) << r[1].error;
  EXPECT_NE(r[1].error.find("damaged.pt"), std::string::npos) << r[1].error;
  EXPECT_NE(r[2].error.find("[empty]"), std::string::npos) << r[2].error;
  EXPECT_NE(r[2].error.find("the training view is empty"), std::string::npos) << r[2].error;
}
