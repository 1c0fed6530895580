#include <gtest/gtest.h>

#include <algorithm>

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
    EXPECT_EQ(models::parameter_count(*models::create_model(r.arch, {3, 10, 32})), r.c10) << r.arch;
    EXPECT_EQ(models::parameter_count(*models::create_model(r.arch, {3, 100, 32})), r.c100) << r.arch;
    // one input channel: the stem loses 2·9·w0 weights
    EXPECT_EQ(models::parameter_count(*models::create_model(r.arch, {1, 10, 32})), r.c10 - 18 * r.w0) << r.arch;
  }
}

TEST(Models, WideAndImageNetResNetParameterCounts) {
  struct Ref {
    const char* arch;
    int64_t classes, image_size, count;
  };
  const Ref refs[] = {{"wrn_16_1", 10, 32, 175066},   {"wrn_16_1", 100, 32, 180916}, {"wrn_16_2", 10, 32, 691674},
                      {"wrn_16_2", 100, 32, 703284},  {"wrn_40_1", 10, 32, 563930},  {"wrn_40_1", 100, 32, 569780},
                      {"wrn_40_2", 10, 32, 2243546},  {"wrn_40_2", 100, 32, 2255156},
                      // torchvision ImageNet counts (1000 classes, 7×7 stem)
                      {"resnet18", 1000, 224, 11689512}, {"resnet34", 1000, 224, 21797672}, {"resnet50", 1000, 224, 25557032}};
  for (const auto& r : refs)
    EXPECT_EQ(models::parameter_count(*models::create_model(r.arch, {3, r.classes, r.image_size})), r.count)
        << r.arch << " " << r.classes;
  // wrn_28_10 is "the usual 36.5M-parameter model"
  EXPECT_NEAR(models::parameter_count(*models::create_model("wrn_28_10", {3, 10, 32})), 36.5e6, 0.05e6);
  // CIFAR stem: 3×3 (27·64 weights) instead of 7×7 (147·64): 11,689,512 − 120·64 − 513,000 + 5,130
  EXPECT_EQ(models::parameter_count(*models::create_model("resnet18", {3, 10, 32})), 11173962);
}

TEST(Models, EveryRegisteredModelRunsForwardAndBackward) {
  for (const auto& name : models::model_names()) {
    if (name == "wrn_28_10" || name == "resnet110" || name == "resnet50") continue;  // slow on CPU; counted above
    auto m = models::create_model(name, {1, 5, 28});
    auto out = m->forward_all(torch::randn({2, 1, 28, 28}));
    EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 5})) << name;
    EXPECT_EQ(out.embedding.size(0), 2) << name;
    EXPECT_GE(out.features.size(), 4u) << name;
    out.logits.sum().backward();
    for (const auto& p : m->parameters()) ASSERT_TRUE(p.grad().defined()) << name;
  }
  auto big = models::create_model("resnet50", {3, 10, 224});
  big->eval();
  EXPECT_EQ(big->forward_all(torch::randn({1, 3, 64, 64})).embedding.size(1), 2048);
}

TEST(Models, PyTorchParameterNames) {
  auto m = models::create_model("resnet8", {3, 10, 32});
  std::vector<std::string> names;
  for (const auto& p : m->named_parameters()) names.push_back(p.key());
  auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  for (const char* n : {"conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
                        "layer2.0.downsample.1.bias", "layer3.0.bn2.weight", "fc.weight", "fc.bias"})
    EXPECT_TRUE(has(n)) << n;
  EXPECT_FALSE(has("layer1.0.downsample.0.weight")) << "identity shortcut in stage 1 of resnet8";
  EXPECT_TRUE(has("layer1.0.downsample.0.weight") ||
              [&] {
                auto w = models::create_model("resnet8x4", {3, 10, 32});
                for (const auto& p : w->named_parameters())
                  if (p.key() == "layer1.0.downsample.0.weight") return true;
                return false;
              }())
      << "x4 models project in stage 1 (w0 != w1)";
}

TEST(Models, OutputsLogitsEmbeddingAndStageFeatures) {
  auto m = models::create_model("resnet20", {1, 7, 28});
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

// preact_features (AB; RepDistiller's preact=True): the stages' outputs before their last ReLU in
// the post-activation ResNets, through the BN that follows in the pre-activation WRN; the logits
// and the stem unchanged.
TEST(Models, PreActivationFeatures) {
  torch::manual_seed(3);
  const auto x = torch::randn({2, 3, 32, 32});
  for (const std::string arch : {"resnet8", "resnet18", "wrn_16_1"}) {
    SCOPED_TRACE(arch);
    auto m = models::create_model(arch, {3, 10, 32});
    m->eval();
    torch::NoGradGuard no_grad;
    const auto post = m->forward_all(x);
    m->preact_features = true;
    const auto pre = m->forward_all(x);
    ASSERT_EQ(pre.features.size(), post.features.size());
    EXPECT_TRUE(torch::equal(pre.logits, post.logits));
    EXPECT_TRUE(torch::equal(pre.features[0], post.features[0]));
    const auto modules = m->named_modules();
    for (size_t i = 1; i < pre.features.size(); ++i) {
      EXPECT_LT(pre.features[i].min().item<double>(), 0.0) << i;
      if (arch != "wrn_16_1") {
        EXPECT_TRUE(torch::allclose(torch::relu(pre.features[i]), post.features[i])) << i;
        continue;
      }
      const std::string bn = i + 1 < pre.features.size() ? "block" + std::to_string(i + 1) + ".layer.0.bn1" : "bn1";
      auto* norm = modules[bn]->as<torch::nn::BatchNorm2d>();
      ASSERT_NE(norm, nullptr) << bn;
      EXPECT_TRUE(torch::allclose(norm->forward(post.features[i]), pre.features[i])) << i;
    }
  }
}

TEST(Models, ReferenceNamesOfOtherFamilies) {
  auto names_of = [](const std::string& arch) {
    std::vector<std::string> v;
    for (const auto& p : models::create_model(arch, {3, 10, 32})->named_parameters()) v.push_back(p.key());
    return v;
  };
  auto wrn = names_of("wrn_16_2");
  for (const char* n : {"conv1.weight", "block1.layer.0.bn1.weight", "block1.layer.0.convShortcut.weight",
                        "block3.layer.1.conv2.weight", "bn1.weight", "fc.weight"})
    EXPECT_NE(std::find(wrn.begin(), wrn.end(), n), wrn.end()) << n;
  auto r50 = names_of("resnet50");
  for (const char* n : {"layer1.0.conv3.weight", "layer1.0.downsample.0.weight", "layer4.2.bn3.bias", "fc.bias"})
    EXPECT_NE(std::find(r50.begin(), r50.end(), n), r50.end()) << n;
}

TEST(Models, UnknownArchListsKnown) {
  try {
    models::create_model("resnet9000", {3, 10, 32});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("resnet32x4"), std::string::npos);
  }
}
