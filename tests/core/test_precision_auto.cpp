// train.amp=auto / train.channels_last=auto: the precision each device gets (bf16 + channels-last
// on CPUs with native bf16, fp32 elsewhere), checked against the CPU flags the kernel lists; and
// the trainer resolving auto itself for library callers, exactly as the explicit choice trains.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <numeric>

#include "kdprune/config/config.h"
#include "kdprune/data/dataset_registry.h"
#include "kdprune/models/model.h"
#include "kdprune/train/precision.h"
#include "kdprune/train/trainer.h"
#include "kdprune/util/error.h"
#include "cpu_flags.h"

using namespace kdprune;
using kdprune::test::cpuinfo_lists_native_bf16;

namespace {
TrainSection resolved(TrainSection t, const torch::Device& device) {
  train::resolve_precision(t, device);
  return t;
}
}  // namespace

TEST(PrecisionAuto, EachDeviceGetsWhatWasMeasuredForIt) {
  auto native = cpuinfo_lists_native_bf16();
  if (!native) GTEST_SKIP() << "no CPU flags in /proc/cpuinfo to check against";
  const char* cap = std::getenv("ONEDNN_MAX_CPU_ISA");
  *native = *native && train::onednn_isa_allows_bf16(cap ? cap : std::getenv("DNNL_MAX_CPU_ISA"));
  EXPECT_EQ(train::cpu_has_native_bf16(), *native);
  const TrainSection cpu = resolved(TrainSection{}, torch::kCPU);
  EXPECT_EQ(cpu.amp, *native ? "bf16" : "off");
  EXPECT_EQ(cpu.channels_last, *native ? "true" : "false");
  // CUDA: fp32, as the paired check on an H200 found (bf16 below fp32 by more than its seed spread
  // at f = 0.1; bench/README.md). Resolving needs no GPU.
  const TrainSection gpu = resolved(TrainSection{}, torch::Device(torch::kCUDA, 0));
  EXPECT_EQ(gpu.amp, "off");
  EXPECT_EQ(gpu.channels_last, "false");
  // Explicit values stay; channels_last=auto follows an explicit reduced precision.
  TrainSection asked;
  asked.amp = "off", asked.channels_last = "true";
  EXPECT_EQ(resolved(asked, torch::kCPU).amp, "off");
  EXPECT_EQ(resolved(asked, torch::kCPU).channels_last, "true");
  TrainSection bf16;
  bf16.amp = "bf16";
  EXPECT_EQ(resolved(bf16, torch::Device(torch::kCUDA, 0)).channels_last, "true");
  EXPECT_THROW(train::channels_last_on(TrainSection{}), Error);
  EXPECT_THROW(train::AutocastScope("auto", torch::kCPU), Error);
}

// An explicit bf16 where the CPU would emulate it is said to be slow (once, by resolve_precision);
// oneDNN capped below its bf16 ISA (ONEDNN_MAX_CPU_ISA) counts as no native bf16.
TEST(PrecisionAuto, ExplicitBf16WhereTheCpuEmulatesItIsSaidToBeSlow) {
  const auto note = train::emulated_bf16_note("bf16", torch::kCPU, /*native_bf16=*/false);
  EXPECT_NE(note.find("train.amp=bf16 on a CPU without native bf16"), std::string::npos) << note;
  EXPECT_NE(note.find("train.amp=auto (the default) trains in fp32 on this CPU"), std::string::npos) << note;
  EXPECT_EQ(train::emulated_bf16_note("bf16", torch::kCPU, true), "");
  EXPECT_EQ(train::emulated_bf16_note("off", torch::kCPU, false), "");
  EXPECT_EQ(train::emulated_bf16_note("auto", torch::kCPU, false), "");  // auto picks fp32 there
  EXPECT_EQ(train::emulated_bf16_note("bf16", torch::Device(torch::kCUDA, 0), false), "");
  EXPECT_TRUE(train::onednn_isa_allows_bf16(nullptr));
  EXPECT_TRUE(train::onednn_isa_allows_bf16(""));
  EXPECT_TRUE(train::onednn_isa_allows_bf16("AVX512_CORE_BF16"));
  EXPECT_TRUE(train::onednn_isa_allows_bf16("avx512_core_amx"));
  EXPECT_TRUE(train::onednn_isa_allows_bf16("ALL"));
  EXPECT_FALSE(train::onednn_isa_allows_bf16("AVX2"));
  EXPECT_FALSE(train::onednn_isa_allows_bf16("avx512_core"));
  EXPECT_FALSE(train::onednn_isa_allows_bf16("AVX512_CORE_VNNI"));
}

// fit() given auto trains exactly as given the precision auto stands for on this machine.
TEST(PrecisionAuto, TheTrainerResolvesAutoAsTheExplicitChoice) {
  DataSection ds;
  ds.name = "synthetic";
  ds.synthetic = {64, 16, 1, 8, 8, 4, 0.5};
  const auto data = data::to_tensors(data::load_dataset(ds, 3), torch::Device(torch::kCPU));
  std::vector<int64_t> idx(64);
  std::iota(idx.begin(), idx.end(), 0);
  TrainSection t;
  t.epochs = 2, t.batch_size = 16, t.checkpoint_every = 0, t.schedule = "constant";
  const TrainSection explicit_choice = resolved(t, torch::kCPU);
  std::vector<std::vector<torch::Tensor>> weights;
  for (const TrainSection& s : {t, explicit_choice}) {
    torch::manual_seed(5);
    auto m = models::create_model("resnet8", {1, 4, 8});
    train::fit({.model = *m, .data = data, .indices = idx, .train = s, .seed = 1, .show_progress = false});
    std::vector<torch::Tensor> w;
    for (const auto& p : m->parameters()) w.push_back(p.detach().clone());
    weights.push_back(std::move(w));
  }
  ASSERT_EQ(weights[0].size(), weights[1].size());
  for (size_t i = 0; i < weights[0].size(); ++i) EXPECT_TRUE(torch::equal(weights[0][i], weights[1][i])) << "parameter " << i;
  // And the other precision trains differently (the comparison can fail).
  TrainSection other = explicit_choice;
  other.amp = explicit_choice.amp == "off" ? "bf16" : "off";
  other.channels_last = "false";
  torch::manual_seed(5);
  auto m = models::create_model("resnet8", {1, 4, 8});
  train::fit({.model = *m, .data = data, .indices = idx, .train = other, .seed = 1, .show_progress = false});
  bool all_equal = true;
  size_t i = 0;
  for (const auto& p : m->parameters()) all_equal = all_equal && torch::equal(p.detach(), weights[0][i++]);
  EXPECT_FALSE(all_equal);
}
