// The KD objective against independent computations: a hand-evaluated KL in double precision,
// finite-difference gradients, α = 0 as exact cross-entropy, and exact resume of a distill run.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "kdprune/data/dataset_registry.h"
#include "kdprune/data/tensor_dataset.h"
#include "kdprune/losses/distill_objective.h"
#include "kdprune/train/checkpoint.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using namespace kdprune;

namespace {
// τ²·(1/B)·Σ_b Σ_c p_t (log p_t − log p_s) with plain loops in double.
double kd_by_hand(const std::vector<std::vector<double>>& zs, const std::vector<std::vector<double>>& zt, double tau) {
  auto softmax = [&](const std::vector<double>& z) {
    double m = *std::max_element(z.begin(), z.end()), sum = 0;
    std::vector<double> p(z.size());
    for (size_t i = 0; i < z.size(); ++i) sum += (p[i] = std::exp((z[i] - m) / tau));
    for (auto& v : p) v /= sum;
    return p;
  };
  double total = 0;
  for (size_t b = 0; b < zs.size(); ++b) {
    auto ps = softmax(zs[b]), pt = softmax(zt[b]);
    for (size_t c = 0; c < ps.size(); ++c) total += pt[c] * (std::log(pt[c]) - std::log(ps[c]));
  }
  return tau * tau * total / static_cast<double>(zs.size());
}
torch::Tensor to_tensor(const std::vector<std::vector<double>>& v) {
  std::vector<float> flat;
  for (const auto& r : v) flat.insert(flat.end(), r.begin(), r.end());
  return torch::tensor(flat).view({static_cast<int64_t>(v.size()), -1});
}
// 64 synthetic 1×8×8 training images of 4 classes, and the view of all of them.
data::TensorDataset tiny_data() {
  DataSection d;
  d.name = "synthetic";
  d.synthetic = {64, 16, 1, 8, 8, 4, 0.5};
  return data::to_tensors(data::load_dataset(d, 2), torch::Device(torch::kCPU));
}
std::vector<int64_t> all_of(const data::TensorDataset& data) {
  std::vector<int64_t> idx(static_cast<size_t>(data.train.images.size(0)));
  std::iota(idx.begin(), idx.end(), 0);
  return idx;
}

}  // namespace

TEST(KdLoss, MatchesHandComputedKl) {
  const std::vector<std::vector<double>> zs = {{1.0, -2.0, 0.5}, {0.0, 3.0, -1.0}};
  const std::vector<std::vector<double>> zt = {{2.0, 0.0, -1.0}, {-0.5, 2.5, 1.0}};
  for (double tau : {1.0, 2.0, 4.0}) {
    const double got = losses::kd_kl(to_tensor(zs), to_tensor(zt), tau).item<double>();
    EXPECT_NEAR(got, kd_by_hand(zs, zt, tau), 1e-5) << "tau " << tau;
  }
  // identical logits: zero; shifted logits (same softmax): zero
  auto z = to_tensor(zs);
  EXPECT_NEAR(losses::kd_kl(z, z, 4.0).item<double>(), 0.0, 1e-7);
  EXPECT_NEAR(losses::kd_kl(z, z + 3.0, 4.0).item<double>(), 0.0, 1e-6);
}

TEST(KdLoss, GradientMatchesFiniteDifferences) {
  const std::vector<std::vector<double>> zs = {{0.3, -1.2, 0.8, 0.1}, {1.5, 0.2, -0.7, 0.0}};
  const std::vector<std::vector<double>> zt = {{1.0, 0.5, -0.5, 2.0}, {0.0, 1.0, 0.0, -1.0}};
  const double tau = 4.0, h = 1e-4;
  auto s = to_tensor(zs).to(torch::kFloat64).requires_grad_(true);
  // kd_kl works in float32; the gradient check uses its double-precision twin through the same code path
  auto loss = losses::kd_kl(s, to_tensor(zt), tau);
  loss.backward();
  auto grad = s.grad();
  for (size_t b = 0; b < zs.size(); ++b)
    for (size_t c = 0; c < zs[b].size(); ++c) {
      auto up = zs, down = zs;
      up[b][c] += h;
      down[b][c] -= h;
      const double fd = (kd_by_hand(up, zt, tau) - kd_by_hand(down, zt, tau)) / (2 * h);
      EXPECT_NEAR(grad[static_cast<int64_t>(b)][static_cast<int64_t>(c)].item<double>(), fd, 2e-4) << b << "," << c;
    }
}

TEST(KdLoss, AlphaZeroIsExactlyCrossEntropyAndWeightsFollowTheConfig) {
  torch::manual_seed(0);
  const auto ce = torch::rand({}) + 0.5, kd = torch::rand({}) * 10;
  KdSection k;
  EXPECT_TRUE(torch::equal(losses::combine(losses::loss_weights(k, 0.0), ce, kd, torch::Tensor()), ce));
  EXPECT_NEAR(losses::combine(losses::loss_weights(k, 0.5), ce, kd, torch::Tensor()).item<double>(),
              0.5 * ce.item<double>() + 0.5 * kd.item<double>(), 1e-6);
  k.weighting = "repdistiller";
  k.gamma = 1.0;
  const auto w = losses::loss_weights(k, 2.0);  // Table 1's plain KD: CE + 2·KD
  EXPECT_DOUBLE_EQ(w.ce, 1.0);
  EXPECT_DOUBLE_EQ(w.kd, 2.0);
  EXPECT_DOUBLE_EQ(w.extra, 0.0) << "no extra term named";
}

TEST(DistillObjective, TeacherSeesTheSameBatchInEvalModeWithoutGradients) {
  torch::manual_seed(1);
  auto teacher = models::create_model("resnet8", {1, 3, 8});
  auto student = models::create_model("resnet8", {1, 3, 8});
  teacher->train();  // the objective must switch it to eval
  KdSection k;
  auto obj = losses::distill_objective(teacher, nullptr, k, 0.5, "off", {1, 8, 8}).loss;
  EXPECT_FALSE(teacher->is_training());
  auto x = torch::randn({4, 1, 8, 8});
  auto y = torch::tensor({0, 1, 2, 0});
  auto out = student->forward_all(x);
  const auto positions = torch::arange(4);
  const train::BatchInfo batch{positions, 0, 0, 4, 0};
  auto loss = obj(x, out, y, batch);
  torch::Tensor expect;
  {
    torch::NoGradGuard ng;
    auto t = teacher->forward(x);
    expect = 0.5 * torch::nn::functional::cross_entropy(out.logits, y) + 0.5 * losses::kd_kl(out.logits, t, 4.0);
  }
  EXPECT_NEAR(loss.item<double>(), expect.item<double>(), 1e-6);
  loss.backward();
  for (const auto& p : teacher->parameters()) EXPECT_FALSE(p.grad().defined()) << "no gradient reaches the teacher";
  auto plain = losses::distill_objective(nullptr, nullptr, k, 0.0, "off", {1, 8, 8}).loss;
  EXPECT_TRUE(torch::equal(plain(x, out, y, batch), torch::nn::functional::cross_entropy(out.logits, y)));
  EXPECT_THROW(losses::distill_objective(nullptr, nullptr, k, 0.5, "off", {1, 8, 8}), Error);
  k.loss = "crd9000";
  EXPECT_THROW(losses::distill_objective(teacher, nullptr, k, 0.5, "off", {1, 8, 8}), Error);
}

TEST(DistillObjective, ResumedDistillRunMatchesUninterrupted) {
  const auto data = tiny_data();
  const std::vector<int64_t> idx = all_of(data);
  TrainSection t;
  t.epochs = 3;
  t.batch_size = 16;
  t.milestones = {2};
  t.checkpoint_every = 1;
  torch::manual_seed(7);
  auto teacher = models::create_model("resnet8", {1, 4, 8});
  KdSection k;
  const auto loss = losses::distill_objective(teacher, nullptr, k, 0.7, "off", {1, 8, 8}).loss;
  kdprune::test::TempDir dir;
  torch::manual_seed(3);
  auto ref = models::create_model("resnet8", {1, 4, 8});
  train::fit({.model = *ref, .data = data, .indices = idx, .train = t, .checkpoint_path = dir.file("a.pt"), .loss = loss,
              .show_progress = false});
  struct Stop : train::TrainObserver {
    void on_step(const train::StepRecord& r) override {
      if (r.epoch == 1 && r.step == 2) throw std::runtime_error("stop");
    }
  } stop;
  torch::manual_seed(3);
  auto a = models::create_model("resnet8", {1, 4, 8});
  EXPECT_THROW(train::fit({.model = *a, .data = data, .indices = idx, .train = t, .checkpoint_path = dir.file("b.pt"),
                           .loss = loss, .observers = {&stop}, .show_progress = false}),
               std::runtime_error);
  auto b = models::create_model("resnet8", {1, 4, 8});
  train::fit({.model = *b, .data = data, .indices = idx, .train = t, .checkpoint_path = dir.file("b.pt"), .resume = true,
              .loss = loss, .show_progress = false});
  auto pr = ref->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pr.size(); ++i) EXPECT_TRUE(torch::equal(pr[i], pb[i])) << i;
}

// A feature term's trainable modules (VID's regressors, CRD's embeddings and memory) are in the optimizer and the checkpoint:
// a run killed mid-epoch and resumed ends with the same student *and* modules as one that was not.
TEST(DistillObjective, ResumedRunWithTrainedKdModulesMatchesUninterrupted) {
  const auto data = tiny_data();
  const std::vector<int64_t> idx = all_of(data);
  TrainSection t;
  t.epochs = 3;
  t.batch_size = 16;
  t.milestones = {2};
  t.checkpoint_every = 1;
  torch::manual_seed(7);
  auto teacher = models::create_model("resnet14", {1, 4, 8});
  // VID (regressors) and CRD (embeddings, plus memory banks and Z as buffers, negatives drawn per step)
  for (const std::string extra : {"vid", "crd"}) {
  SCOPED_TRACE(extra);
  KdSection k;
  k.weighting = "repdistiller", k.extra = extra, k.beta = 1.0, k.nce_k = 16;
  auto objective = [&](const models::Model& student) {
    torch::manual_seed(9);
    return losses::distill_objective(teacher, student, k, 1.0, "off", {1, 8, 8}, data.train.labels);
  };
  kdprune::test::TempDir dir;
  torch::manual_seed(3);
  auto ref = models::create_model("resnet8", {1, 4, 8});
  const auto o_ref = objective(ref);
  ASSERT_TRUE(o_ref.trainable);
  const auto before = o_ref.trainable->parameters().front().clone();
  train::fit({.model = *ref, .data = data, .indices = idx, .train = t, .checkpoint_path = dir.file("a.pt"),
              .loss = o_ref.loss, .loss_modules = o_ref.trainable, .show_progress = false});
  EXPECT_FALSE(torch::equal(before, o_ref.trainable->parameters().front())) << "the regressors are trained";
  struct Stop : train::TrainObserver {
    void on_step(const train::StepRecord& r) override {
      if (r.epoch == 1 && r.step == 2) throw std::runtime_error("stop");
    }
  } stop;
  torch::manual_seed(3);
  auto a = models::create_model("resnet8", {1, 4, 8});
  const auto o_a = objective(a);
  EXPECT_THROW(train::fit({.model = *a, .data = data, .indices = idx, .train = t, .checkpoint_path = dir.file("b.pt"),
                           .loss = o_a.loss, .loss_modules = o_a.trainable, .observers = {&stop}, .show_progress = false}),
               std::runtime_error);
  auto b = models::create_model("resnet8", {1, 4, 8});
  const auto o_b = objective(b);
  train::fit({.model = *b, .data = data, .indices = idx, .train = t, .checkpoint_path = dir.file("b.pt"), .resume = true,
              .loss = o_b.loss, .loss_modules = o_b.trainable, .show_progress = false});
  auto pr = ref->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pr.size(); ++i) EXPECT_TRUE(torch::equal(pr[i], pb[i])) << i;
  auto mr = o_ref.trainable->parameters(), mb = o_b.trainable->parameters();
  ASSERT_EQ(mr.size(), mb.size());
  for (size_t i = 0; i < mr.size(); ++i) EXPECT_TRUE(torch::equal(mr[i], mb[i])) << "module parameter " << i;
  // The plain model file of the student holds no module weights.
  EXPECT_EQ(models::parameter_count(*b), models::parameter_count(*models::create_model("resnet8", {1, 4, 8})));
  auto br = o_ref.trainable->buffers(), bb = o_b.trainable->buffers();
  ASSERT_EQ(br.size(), bb.size());
  for (size_t i = 0; i < br.size(); ++i) EXPECT_TRUE(torch::equal(br[i], bb[i])) << "module buffer " << i;
  }
}

// FT: the paraphraser, trained in the init stage and frozen afterwards, is in the main run's
// checkpoint: a resumed run whose objective starts with a fresh paraphraser ends as the
// uninterrupted one, and the paraphraser keeps its init-stage weights.
TEST(DistillObjective, FrozenModulesAreRestoredOnResume) {
  const auto data = tiny_data();
  const std::vector<int64_t> idx = all_of(data);
  TrainSection t;
  t.epochs = 2;
  t.batch_size = 16;
  t.checkpoint_every = 1;
  torch::manual_seed(7);
  auto teacher = models::create_model("resnet14", {1, 4, 8});
  KdSection k;
  k.weighting = "repdistiller", k.extra = "ft", k.beta = 1.0;
  kdprune::test::TempDir dir;
  torch::manual_seed(3);
  auto ref = models::create_model("resnet8", {1, 4, 8});
  torch::manual_seed(9);
  const auto o_ref = losses::distill_objective(teacher, ref, k, 1.0, "off", {1, 8, 8});
  ASSERT_TRUE(o_ref.init_loss && o_ref.init.modules && !o_ref.init.trains_student);
  for (auto& p : o_ref.init.modules->parameters()) p.set_requires_grad(true);
  TrainSection init = t;
  init.lr = o_ref.init.lr, init.epochs = 1;
  train::fit({.model = *ref, .data = data, .indices = idx, .train = init, .loss = o_ref.init_loss,
              .loss_modules = o_ref.init.modules, .freeze_model = true, .show_progress = false});
  for (auto& p : o_ref.init.modules->parameters()) p.set_requires_grad(false);
  std::vector<torch::Tensor> paraphraser;
  for (const auto& p : o_ref.init.modules->parameters()) paraphraser.push_back(p.clone());
  // The uninterrupted run.
  train::fit({.model = *ref, .data = data, .indices = idx, .train = t, .loss = o_ref.loss, .loss_modules = o_ref.trainable,
              .show_progress = false});
  for (size_t i = 0; i < paraphraser.size(); ++i)
    EXPECT_TRUE(torch::equal(paraphraser[i], o_ref.init.modules->parameters()[i])) << "frozen in the main training";
  // The same run (same student and translator, the trained paraphraser) interrupted in its second
  // epoch, then resumed with a fresh objective.
  struct Stop : train::TrainObserver {
    void on_step(const train::StepRecord& r) override {
      if (r.epoch == 1 && r.step == 2) throw std::runtime_error("stop");
    }
  } stop;
  torch::manual_seed(3);
  auto a = models::create_model("resnet8", {1, 4, 8});
  torch::manual_seed(9);
  const auto o_a = losses::distill_objective(teacher, a, k, 1.0, "off", {1, 8, 8});
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < paraphraser.size(); ++i) o_a.init.modules->parameters()[i].copy_(paraphraser[i]);
  }
  EXPECT_THROW(train::fit({.model = *a, .data = data, .indices = idx, .train = t, .checkpoint_path = dir.file("b.pt"),
                           .loss = o_a.loss, .loss_modules = o_a.trainable, .observers = {&stop}, .show_progress = false}),
               std::runtime_error);
  auto b = models::create_model("resnet8", {1, 4, 8});
  torch::manual_seed(10);
  const auto o_b = losses::distill_objective(teacher, b, k, 1.0, "off", {1, 8, 8});
  EXPECT_FALSE(torch::equal(paraphraser[0], o_b.init.modules->parameters()[0])) << "a fresh paraphraser";
  train::fit({.model = *b, .data = data, .indices = idx, .train = t, .checkpoint_path = dir.file("b.pt"), .resume = true,
              .loss = o_b.loss, .loss_modules = o_b.trainable, .show_progress = false});
  for (size_t i = 0; i < paraphraser.size(); ++i)
    EXPECT_TRUE(torch::equal(paraphraser[i], o_b.init.modules->parameters()[i])) << "restored, parameter " << i;
  auto pr = ref->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pr.size(); ++i) EXPECT_TRUE(torch::equal(pr[i], pb[i])) << i;
  auto mr = o_ref.trainable->parameters(), mb = o_b.trainable->parameters();
  for (size_t i = 0; i < mr.size(); ++i) EXPECT_TRUE(torch::equal(mr[i], mb[i])) << "module parameter " << i;
}
