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
  // The final classifier (logits from the embedding): the one module a "feature layers only"
  // training leaves out (an init stage, RepDistiller's FSP/AB pretraining). Every registered
  // family names it; a model that does not cannot train its feature layers alone (InternalError).
  virtual torch::nn::Module& classifier();
  // The parameters of every layer but the classifier.
  std::vector<torch::Tensor> feature_parameters();
  // Pre-activation stage outputs (AB; RepDistiller's preact=True): features[1..] are then each
  // stage's output before its last ReLU (post-activation ResNets), or the stage output through the
  // BN that follows it (pre-activation WRN). Library code sets it through PreactFeatures, which
  // puts it back however the scope ends; a model shared by several losses (a group's teacher)
  // must never be left in the mode.
  bool preact_features = false;
};
using Model = std::shared_ptr<ModelImpl>;

// Turns a model's pre-activation features on (or off) for the scope's lifetime.
class PreactFeatures {
 public:
  PreactFeatures(ModelImpl& model, bool on) : model_(model), was_(model.preact_features) { model.preact_features = on; }
  ~PreactFeatures() { model_.preact_features = was_; }
  PreactFeatures(const PreactFeatures&) = delete;
  PreactFeatures& operator=(const PreactFeatures&) = delete;

 private:
  ModelImpl& model_;
  bool was_;
};

// What a model is built for: input channels, class count and input height (ImageNet-style
// ResNets use a 3×3 stride-1 stem without max-pool for small images, the torchvision stem otherwise).
struct ModelSpec {
  int64_t in_channels = 3;
  int64_t classes = 10;
  int64_t image_size = 32;
};

struct ModelEntry {
  std::string name;
  std::string description;
  Model (*create)(const ModelSpec& spec);
};

const std::vector<ModelEntry>& model_registry();
std::vector<std::string> model_names();

// Throws kdprune::Error for an unknown name, listing the known ones.
Model create_model(const std::string& arch, const ModelSpec& spec);

int64_t parameter_count(const torch::nn::Module& m);

}  // namespace kdprune::models
