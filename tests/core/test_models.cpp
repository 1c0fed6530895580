#include <gtest/gtest.h>

#include "kdprune/models/model.h"
#include "kdprune/util/error.h"

using namespace kdprune;

// Reference counts from the PyTorch definitions (../shared/docs/kd_and_models.md), 3 channels.
TEST(Models, CifarResNetParameterCounts) {
  struct Ref {
    const char* arch;
    int64_t c10, c100, w0;
  };
  const Ref refs[] = {{"resnet8", 78042, 83892, 16},        {"resnet14", 175258, 181108, 16},
                      {"resnet20", 272474, 278324, 16},     {"resnet32", 466906, 472756, 16},
                      {"resnet44", 661338, 667188, 16},     {"resnet56", 855770, 861620, 16},
                      {"resnet110", 1730714, 1736564, 16},  {"resnet8x4", 1210410, 1233540, 32},
                      {"resnet32x4", 7410730, 7433860, 32}};
  for (const auto& r : refs) {
    EXPECT_EQ(models::parameter_count(*models::create_model(r.arch, 3, 10)), r.c10) << r.arch;
    EXPECT_EQ(models::parameter_count(*models::create_model(r.arch, 3, 100)), r.c100) << r.arch;
    // one input channel: the stem loses 2·9·w0 weights
    EXPECT_EQ(models::parameter_count(*models::create_model(r.arch, 1, 10)), r.c10 - 18 * r.w0) << r.arch;
  }
}

TEST(Models, PyTorchParameterNames) {
  auto m = models::create_model("resnet8", 3, 10);
  std::vector<std::string> names;
  for (const auto& p : m->named_parameters()) names.push_back(p.key());
  auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  for (const char* n : {"conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
                        "layer2.0.downsample.1.bias", "layer3.0.bn2.weight", "fc.weight", "fc.bias"})
    EXPECT_TRUE(has(n)) << n;
  EXPECT_FALSE(has("layer1.0.downsample.0.weight")) << "identity shortcut in stage 1 of resnet8";
  EXPECT_TRUE(has("layer1.0.downsample.0.weight") ||
              [&] {
                auto w = models::create_model("resnet8x4", 3, 10);
                for (const auto& p : w->named_parameters())
                  if (p.key() == "layer1.0.downsample.0.weight") return true;
                return false;
              }())
      << "x4 models project in stage 1 (w0 != w1)";
}

TEST(Models, OutputsLogitsEmbeddingAndStageFeatures) {
  auto m = models::create_model("resnet20", 1, 7);
  m->eval();
  auto out = m->forward_all(torch::randn({2, 1, 28, 28}));
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 7}));
  EXPECT_EQ(out.embedding.sizes(), (std::vector<int64_t>{2, 64}));
  ASSERT_EQ(out.features.size(), 4u);
  EXPECT_EQ(out.features[1].sizes(), (std::vector<int64_t>{2, 16, 28, 28}));
  EXPECT_EQ(out.features[3].sizes(), (std::vector<int64_t>{2, 64, 7, 7}));
  // logits are the linear head applied to the embedding
  auto fc = m->named_parameters();
  auto manual = torch::addmm(fc["fc.bias"], out.embedding, fc["fc.weight"].t());
  EXPECT_TRUE(torch::allclose(manual, out.logits, 1e-5, 1e-6));
}

TEST(Models, UnknownArchListsKnown) {
  try {
    models::create_model("resnet9000", 3, 10);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("resnet32x4"), std::string::npos);
  }
}
