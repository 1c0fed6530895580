// How many students train together (train.group_max): one student's measured training memory and
// the packing of a group into chunks that fit the budget.
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include "kdprune/system/environment.h"
#include "kdprune/train/memory.h"
#include "kdprune/util/error.h"

using namespace kdprune;

TEST(GroupMemory, PacksStudentsInOrderIntoChunksThatFit) {
  using Chunks = std::vector<std::vector<size_t>>;
  EXPECT_EQ(train::pack_by_memory({3, 3, 3, 5}, 8, "budget"), (Chunks{{0, 1}, {2, 3}}));
  EXPECT_EQ(train::pack_by_memory({8, 1}, 8, "budget"), (Chunks{{0}, {1}}));
  EXPECT_EQ(train::pack_by_memory({1, 1, 1}, 100, "budget"), (Chunks{{0, 1, 2}}));
  try {
    train::pack_by_memory({1, 2048}, 1024, "train.group_max=1KiB");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("train.group_max=1KiB: one student needs about 2 KiB"), std::string::npos) << what;
    EXPECT_NE(what.find("budget of 1 KiB"), std::string::npos) << what;
  }
}

TEST(GroupMemory, AStudentsMemoryGrowsWithTheBatchAndLeavesTheRngAsItWas) {
  const models::ModelSpec spec{3, 10, 32};
  torch::manual_seed(5);
  const auto expected = torch::rand({4});
  torch::manual_seed(5);
  const int64_t small = train::training_memory_bytes("resnet8", spec, {3, 32, 32}, 8, "off", false, torch::kCPU);
  const auto drawn = torch::rand({4});
  EXPECT_TRUE(torch::equal(drawn, expected)) << "the measurement must not move the global generator";
  const int64_t large = train::training_memory_bytes("resnet8", spec, {3, 32, 32}, 64, "off", false, torch::kCPU);
  auto model = models::create_model("resnet8", spec);
  int64_t weights = 0;
  for (const auto& p : model->parameters()) weights += p.numel() * 4;
  EXPECT_GT(small, 2 * weights);
  // resnet8's first stage alone keeps at least 9 maps of 16 × 32 × 32 floats (576 KiB) per sample
  // for backward: 56 more samples hold >= 31 MiB more.
  EXPECT_GT(large - small, 24LL * 1024 * 1024) << small << " -> " << large;
  EXPECT_LT(large, 2048LL * 1024 * 1024);
}

TEST(GroupMemory, AnExplicitBudgetIsTakenAsGiven) {
  EXPECT_EQ(train::group_memory_budget("512MiB", torch::kCPU), 512LL << 20);
  EXPECT_GT(train::group_memory_budget("auto", torch::kCPU), 0);
  EXPECT_THROW(train::group_memory_budget("lots", torch::kCPU), Error);
  EXPECT_EQ(train::memory_text(3LL << 29), "1.5 GiB");
  EXPECT_EQ(train::memory_text(340LL << 20), "340 MiB");
}

// Every command configures the runtime before its first convolution (the memory probe's, the
// teacher's evaluation), and that turns cuDNN's benchmark mode on: ATen keeps the plan a shape's
// first convolution got, so a shape run first with the flag off trained on cuDNN's guess.
TEST(GroupMemory, TheRuntimeSearchesCudnnPlansBeforeTheProbe) {
  at::globalContext().setBenchmarkCuDNN(false);
  system::configure_runtime(0, 0);
  EXPECT_TRUE(at::globalContext().benchmarkCuDNN());
}
