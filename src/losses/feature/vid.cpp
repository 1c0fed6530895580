// VID (Ahn et al. 2019), as RepDistiller's distiller_zoo/VID.py and train_student.py: per stage
// after the stem (feat[1:-1]), a regressor of three 1×1 convs (student channels → teacher channels
// → teacher channels, ReLU between, no bias) predicts the teacher map's mean, a learned
// per-channel variance softplus(log_scale) + 1e-5 (initialised to 5) its spread; the loss is the
// Gaussian negative log-likelihood 0.5·((μ − t)²/σ² + log σ²), averaged, summed over the stages.
#include <cmath>

#include "feature_common.h"

namespace kdprune::losses::feature {
namespace {

class VidLayerImpl : public torch::nn::Module {
 public:
  VidLayerImpl(int64_t in, int64_t mid, int64_t out) {
    namespace nn = torch::nn;
    auto conv = [](int64_t a, int64_t b) { return nn::Conv2d(nn::Conv2dOptions(a, b, 1).bias(false)); };
    regressor_ = register_module("regressor", nn::Sequential(conv(in, mid), nn::ReLU(), conv(mid, mid), nn::ReLU(), conv(mid, out)));
    constexpr double init_var = 5.0, eps = 1e-5;
    log_scale_ = register_parameter("log_scale", torch::full({out}, std::log(std::exp(init_var - eps) - 1.0)));
  }
  torch::Tensor forward(torch::Tensor input, torch::Tensor target) {
    std::tie(input, target) = match_spatial(input, target);
    const auto mean = regressor_->forward(input);
    const auto var = (torch::log(1.0 + torch::exp(log_scale_)) + 1e-5).view({1, -1, 1, 1});
    return (0.5 * ((mean - target).pow(2) / var + torch::log(var))).mean();
  }

 private:
  torch::nn::Sequential regressor_{nullptr};
  torch::Tensor log_scale_;
};
TORCH_MODULE(VidLayer);

class Vid : public DistillTerm {
 public:
  // A pure function of the batch on the device: its step may be captured as a CUDA graph.
  bool capturable() const override { return true; }
  explicit Vid(const TermContext& ctx) {
    for (size_t i = 1; i < ctx.student.features.size(); ++i) {
      const int64_t s = ctx.student.features[i][1], t = ctx.teacher.features[i][1];
      layers_.push_back(layers_holder_->register_module("layer" + std::to_string(i), VidLayer(s, t, t)));
    }
  }
  torch::Tensor operator()(const models::ModelOutput& s, const models::ModelOutput& t, const torch::Tensor&) override {
    const auto gs = stage_outputs(s), gt = stage_outputs(t);
    torch::Tensor loss = torch::zeros({}, gs.front().options().dtype(torch::kFloat32));
    for (size_t i = 0; i < gs.size(); ++i) loss = loss + layers_[i](gs[i].to(torch::kFloat32), gt[i].to(torch::kFloat32));
    return loss;
  }
  std::shared_ptr<torch::nn::Module> trainable() override { return layers_holder_; }

 private:
  std::shared_ptr<torch::nn::Module> layers_holder_ = std::make_shared<torch::nn::Module>();
  std::vector<VidLayer> layers_;
};

}  // namespace

std::unique_ptr<DistillTerm> make_vid(const TermContext& ctx) {
  require_same_stages(ctx);
  return std::make_unique<Vid>(ctx);
}

}  // namespace kdprune::losses::feature
