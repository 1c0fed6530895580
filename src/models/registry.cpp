#include <algorithm>

#include "cifar_resnet.h"
#include "imagenet_resnet.h"
#include "wide_resnet.h"
#include "kdprune/models/model.h"
#include "kdprune/util/error.h"

namespace kdprune::models {

const std::vector<ModelEntry>& model_registry() {
  static const std::vector<ModelEntry> entries = {
      {"resnet8", "CIFAR ResNet-8 (16/32/64, 1 block/stage)", &cifar_resnet<8, 1>},
      {"resnet14", "CIFAR ResNet-14", &cifar_resnet<14, 1>},
      {"resnet20", "CIFAR ResNet-20", &cifar_resnet<20, 1>},
      {"resnet32", "CIFAR ResNet-32", &cifar_resnet<32, 1>},
      {"resnet44", "CIFAR ResNet-44", &cifar_resnet<44, 1>},
      {"resnet56", "CIFAR ResNet-56", &cifar_resnet<56, 1>},
      {"resnet110", "CIFAR ResNet-110", &cifar_resnet<110, 1>},
      {"resnet8x4", "CIFAR ResNet-8, 4x wide (32/64/128/256)", &cifar_resnet<8, 4>},
      {"resnet32x4", "CIFAR ResNet-32, 4x wide (32/64/128/256)", &cifar_resnet<32, 4>},
      {"wrn_16_1", "Wide ResNet 16-1 (pre-activation)", &wide_resnet<16, 1>},
      {"wrn_16_2", "Wide ResNet 16-2", &wide_resnet<16, 2>},
      {"wrn_40_1", "Wide ResNet 40-1", &wide_resnet<40, 1>},
      {"wrn_40_2", "Wide ResNet 40-2", &wide_resnet<40, 2>},
      {"wrn_28_10", "Wide ResNet 28-10", &wide_resnet<28, 10>},
      {"resnet18", "ResNet-18, torchvision layout (3x3 stem without max-pool for inputs <= 64 px)", &imagenet_resnet<18>},
      {"resnet34", "ResNet-34, torchvision layout (the paper's CIFAR/SVHN scoring model)", &imagenet_resnet<34>},
      {"resnet50", "ResNet-50 (bottleneck), torchvision layout", &imagenet_resnet<50>},
  };
  return entries;
}

std::vector<std::string> model_names() {
  std::vector<std::string> v;
  for (const auto& e : model_registry()) v.push_back(e.name);
  return v;
}

Model create_model(const std::string& arch, const ModelSpec& spec) {
  for (const auto& e : model_registry())
    if (e.name == arch) return e.create(spec);
  std::string known;
  for (const auto& e : model_registry()) known += (known.empty() ? "" : ", ") + e.name;
  throw Error("model.arch: unknown architecture '" + arch + "' (expected one of: " + known + ")");
}

torch::nn::Module& ModelImpl::classifier() { throw InternalError(name() + " names no classifier (ModelImpl::classifier)"); }

std::vector<torch::Tensor> ModelImpl::feature_parameters() {
  std::vector<torch::Tensor> out;
  const auto head = classifier().parameters();
  for (const auto& p : parameters())
    if (std::none_of(head.begin(), head.end(), [&](const torch::Tensor& h) { return h.is_same(p); })) out.push_back(p);
  return out;
}

int64_t parameter_count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace kdprune::models
