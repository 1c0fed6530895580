// c10d's NCCL backend under kdprune's Collective. A lent machine has one GPU and NCCL will not put
// two ranks on one device, so the GPU tests form a group of one that runs its collectives anyway
// (GroupOptions::reduce_alone): the paths the trainer takes through NCCL (flat buffers of mixed
// dtypes and devices, broadcasts, gradient buckets started during backward with their used-flags
// tail, the trainer's reductions), with CPU tensors still over Gloo. What a group of one cannot
// show: values moving between ranks (the sum over one rank is the identity) or a missing wait on
// NCCL's stream; those rest on the Gloo tests with 2 and 3 ranks and on c10d's own semantics. Run
// by scripts/device/check.sh; skipped without a GPU or without NCCL in the build. What any machine
// checks: a group asked for NCCL without a GPU is refused with one line, and a group of one that
// reduces (over Gloo) trains exactly as one process does.
#include <gtest/gtest.h>

#include <numeric>
#include <optional>

#include "data_parallel_fixtures.h"
#include "dist/nccl_backend.h"
#include "kdprune/dist/grad_reducer.h"
#include "kdprune/train/trainer.h"
#include "kdprune/util/error.h"

using namespace kdprune;

namespace {
const torch::Device gpu(torch::kCUDA, 0);

// A group of one that runs its collectives: CUDA tensors over NCCL on `nccl` (none: all over Gloo).
std::unique_ptr<dist::Collective> group_of_one(std::optional<torch::Device> nccl) {
  dist::GroupOptions o;
  o.timeout = std::chrono::seconds(60), o.nccl_device = nccl, o.reduce_alone = true;
  return dist::Collective::over_store(dist::Collective::local_store(), 0, 1, o);
}
std::unique_ptr<dist::Collective> nccl_group_of_one() { return group_of_one(gpu); }
#define SKIP_WITHOUT_NCCL_GPU()                                                                       \
  if (!dist::Collective::nccl_available()) GTEST_SKIP() << "built without c10d NCCL";                \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device"

// Linear layers of which `unused` takes no part in the loss: its gradient stays undefined.
struct TwoUsedOneNot : torch::nn::Module {
  torch::nn::Linear a{6, 5}, b{5, 3}, unused{3, 3};
  TwoUsedOneNot() {
    register_module("a", a);
    register_module("b", b);
    register_module("unused", unused);
  }
  torch::Tensor loss(const torch::Tensor& x) { return b(torch::tanh(a(x))).pow(2).mean(); }
};
}  // namespace

TEST(NcclCollective, AGroupAskedForNcclWithoutAGpuIsRefused) {
  if (!dist::Collective::available()) GTEST_SKIP() << "built without c10d Gloo";
  dist::GroupOptions o;
  o.timeout = std::chrono::seconds(20), o.nccl_device = torch::Device(torch::kCPU);
  try {
    dist::Collective::over_store(dist::Collective::local_store(), 0, 1, o);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(msg.find("rank 0 of 1: NCCL needs this rank's GPU (cuda:<index>), got cpu") != std::string::npos ||
                msg.find("this kdprune was built without NCCL") != std::string::npos)
        << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(NcclCollective, CudaTensorsGoOverNcclAndTheHostsValuesOverGloo) {
  SKIP_WITHOUT_NCCL_GPU();
  auto c = nccl_group_of_one();
  EXPECT_EQ(c->backend_name(gpu), "nccl");
  EXPECT_EQ(c->backend_name(torch::kCPU), "gloo");
  // Mixed devices and dtypes in one call: a flat buffer per (dtype, device), each over its backend.
  auto a = torch::arange(10, torch::TensorOptions(torch::kFloat32).device(gpu)).view({2, 5});
  auto b = torch::tensor({3, -1}, torch::TensorOptions(torch::kInt64).device(gpu));
  auto h = torch::tensor({2.5}, torch::kFloat64);
  const auto a0 = a.clone(), b0 = b.clone(), h0 = h.clone();
  c->allreduce({a, b, h});  // the sum over one rank: unchanged
  EXPECT_TRUE(torch::equal(a, a0) && torch::equal(b, b0) && torch::equal(h, h0));
  c->allreduce({a, b}, dist::Reduce::max);
  c->allreduce({a}, dist::Reduce::min);
  c->broadcast({a, h}, 0);
  EXPECT_TRUE(torch::equal(a, a0) && torch::equal(b, b0) && torch::equal(h, h0));
  EXPECT_EQ(c->broadcast_string("run-17"), "run-17");
  const auto before = c->operations();
  // A bucket's reduction: NCCL's work, waited for on the device's stream.
  auto flat = torch::randn({4096}, gpu);
  const auto f0 = flat.clone();
  const auto work = c->start_allreduce(flat);
  ASSERT_TRUE(work);
  EXPECT_TRUE(dist::is_nccl_work(*work));
  c->wait(work);
  EXPECT_TRUE(torch::equal(flat, f0));
  const auto host = c->start_allreduce(torch::ones({3}));
  ASSERT_TRUE(host);
  EXPECT_FALSE(dist::is_nccl_work(*host));
  c->wait(host);
  c->barrier();
  EXPECT_EQ(c->operations() - before, 3);
}

TEST(NcclCollective, GradientBucketsOverNcclGiveTheRanksOwnGradient) {
  SKIP_WITHOUT_NCCL_GPU();
  auto c = nccl_group_of_one();
  torch::manual_seed(4);
  const auto x = torch::randn({7, 6});
  TwoUsedOneNot ref;
  ref.loss(x).backward();
  for (const bool overlap : {true, false}) {
    SCOPED_TRACE(overlap ? "during backward" : "after backward");
    TwoUsedOneNot m;
    {
      torch::NoGradGuard no_grad;
      for (size_t k = 0; k < m.parameters().size(); ++k) m.parameters()[k].copy_(ref.parameters()[k]);
    }
    m.to(gpu);
    // A bucket per layer: [unused], [b], [a].
    dist::GradReducer reducer(*c, m.parameters(), {.first_bytes = 40, .bytes = 40}, overlap);
    for (int step = 0; step < 2; ++step) {
      m.zero_grad();
      const auto loss = m.loss(x.to(gpu));
      reducer.prepare(loss);
      loss.backward();
      reducer.finish();
    }
    const auto got = m.parameters(), want = ref.parameters();
    ASSERT_EQ(got.size(), 6u);
    for (size_t k = 0; k < 4; ++k) {
      ASSERT_TRUE(got[k].grad().defined()) << k;
      EXPECT_TRUE(torch::allclose(got[k].grad().cpu(), want[k].grad(), 1e-5, 1e-6)) << k;
    }
    EXPECT_FALSE(got[4].grad().defined());  // used by no rank: as in one process
    EXPECT_FALSE(got[5].grad().defined());
    EXPECT_EQ(reducer.buckets(), 3u);
    EXPECT_EQ(reducer.started_early(), overlap ? 6 : 0);
  }
}

namespace {
// Three epochs through a group of one that reduces (the trainer's data-parallel path: sharding,
// gradient buckets, reduced metrics and evaluation) against the same training alone, on `device`.
void expect_group_of_one_trains_as_alone(const torch::Device& device, std::optional<torch::Device> nccl) {
  const auto data = test::tiny(70, device);
  std::vector<int64_t> idx(70);
  std::iota(idx.begin(), idx.end(), 0);
  const TrainSection t = test::recipe(16);
  auto alone = test::plain_net(3), grouped = test::plain_net(3);
  alone->to(device), grouped->to(device);
  const auto a = train::fit({.model = *alone, .data = data, .indices = idx, .train = t, .seed = 11, .show_progress = false});
  auto c = group_of_one(nccl);
  const auto g = train::fit(
      {.model = *grouped, .data = data, .indices = idx, .train = t, .seed = 11, .show_progress = false, .collective = c.get()});
  // Through the group: the initial weights' broadcast (1), a gradient bucket per step (5 steps of
  // 16, 16, 16, 16, 6 per epoch: 15), each epoch's totals (loss, correct, first bad step: 9) and
  // evaluation (loss, correct: 6). PlainNet has no buffers to broadcast.
  EXPECT_EQ(c->operations(), 1 + 15 + 9 + 6) << "the trainer did not go through the group as expected";
  EXPECT_TRUE(test::close_weights(*grouped, *alone, 1e-5));
  ASSERT_EQ(g.epoch_train_loss.size(), 3u);
  for (size_t e = 0; e < 3; ++e) EXPECT_NEAR(g.epoch_train_loss[e], a.epoch_train_loss[e], 1e-5 * a.epoch_train_loss[e]);
  // On the GPU cuDNN's benchmark may pick other kernels for the second fit: a near-tie may flip.
  EXPECT_NEAR(g.final_eval.top1, a.final_eval.top1, device.is_cuda() ? 100.0 / 24 + 1e-9 : 1e-9);
  EXPECT_NEAR(g.final_eval.loss, a.final_eval.loss, 1e-5 * a.final_eval.loss);
  EXPECT_EQ(g.final_eval.samples, 24);
}
}  // namespace

TEST(NcclCollective, AGroupOfOneThatReducesTrainsAsOneProcess) {
  if (!dist::Collective::available()) GTEST_SKIP() << "built without c10d Gloo";
  expect_group_of_one_trains_as_alone(torch::kCPU, std::nullopt);  // over Gloo
}

TEST(NcclCollective, TrainingOverNcclInAGroupOfOneIsTrainingAlone) {
  SKIP_WITHOUT_NCCL_GPU();
  expect_group_of_one_trains_as_alone(gpu, gpu);
}
