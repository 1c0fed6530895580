#include "cifar_resnet.h"
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
  };
  return entries;
}

std::vector<std::string> model_names() {
  std::vector<std::string> v;
  for (const auto& e : model_registry()) v.push_back(e.name);
  return v;
}

Model create_model(const std::string& arch, int64_t in_channels, int64_t classes) {
  for (const auto& e : model_registry())
    if (e.name == arch) return e.create(in_channels, classes);
  std::string known;
  for (const auto& e : model_registry()) known += (known.empty() ? "" : ", ") + e.name;
  throw Error("model.arch: unknown architecture '" + arch + "' (expected one of: " + known + ")");
}

int64_t parameter_count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace kdprune::models
