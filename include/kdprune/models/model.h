#pragma once
// The interface every architecture implements, and the registry that creates them by name.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace kdprune::models {

struct ModelOutput {
  torch::Tensor logits;                 // B×classes
  torch::Tensor embedding;              // B×D penultimate features (Moderate, D2, GraNd last layer)
  std::vector<torch::Tensor> features;  // per-stage maps (stem, stage 1..k) for feature KD
};

class ModelImpl : public torch::nn::Module {
 public:
  virtual ModelOutput forward_all(const torch::Tensor& x) = 0;
  torch::Tensor forward(const torch::Tensor& x) { return forward_all(x).logits; }
};
using Model = std::shared_ptr<ModelImpl>;

struct ModelEntry {
  std::string name;
  std::string description;
  Model (*create)(int64_t in_channels, int64_t classes);
};

const std::vector<ModelEntry>& model_registry();
std::vector<std::string> model_names();

// Throws kdprune::Error for an unknown name, listing the known ones.
Model create_model(const std::string& arch, int64_t in_channels, int64_t classes);

int64_t parameter_count(const torch::nn::Module& m);

}  // namespace kdprune::models
