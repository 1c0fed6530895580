// FT (Kim et al. 2018, factor transfer), as RepDistiller's distiller_zoo/FT.py, models/util.py
// (Paraphraser, Translator) with train_student.py and helper/pretrain.py, on the last stage's
// output (feat[-2]):
// - a paraphraser (three 3×3 convs C → C → C/2 → C/2 and three 3×3 transposed convs back,
//   LeakyReLU 0.1, no BN; k = 0.5) is trained in the init stage to reconstruct the teacher's map
//   (MSE), the student untouched, at lr 0.01 (RepDistiller's value for its CIFAR ResNets and WRNs);
//   then it is frozen (kept in the checkpoint);
// - a translator (three 3×3 convs C_s → C_s → C_t/2 → C_t/2 with BN and LeakyReLU 0.1) trained
//   with the student maps the student's map to a factor;
// - the loss: factor(f) = normalize(mean_c f², flattened) for both (the larger map average-pooled
//   to the smaller), mean absolute difference (p1 = 2, p2 = 1).
#include "feature_common.h"

namespace kdprune::losses::feature {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv3(int64_t in, int64_t out) { return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1)); }
nn::ConvTranspose2d deconv3(int64_t in, int64_t out) {
  return nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, out, 3).padding(1));
}
nn::LeakyReLU leaky() { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.1)); }

class ParaphraserImpl : public nn::Module {
 public:
  explicit ParaphraserImpl(int64_t c) {
    const int64_t f = c / 2;  // int(C·k), k = 0.5
    encoder_ = register_module("encoder", nn::Sequential(conv3(c, c), leaky(), conv3(c, f), leaky(), conv3(f, f), leaky()));
    decoder_ =
        register_module("decoder", nn::Sequential(deconv3(f, f), leaky(), deconv3(f, c), leaky(), deconv3(c, c), leaky()));
  }
  torch::Tensor factor(const torch::Tensor& x) { return encoder_->forward(x); }
  torch::Tensor reconstruct(const torch::Tensor& x) { return decoder_->forward(encoder_->forward(x)); }

 private:
  nn::Sequential encoder_{nullptr}, decoder_{nullptr};
};
TORCH_MODULE(Paraphraser);

nn::Sequential translator(int64_t cs, int64_t ct) {
  const int64_t f = ct / 2;
  return nn::Sequential(conv3(cs, cs), nn::BatchNorm2d(cs), leaky(), conv3(cs, f), nn::BatchNorm2d(f), leaky(),
                        conv3(f, f), nn::BatchNorm2d(f), leaky());
}

torch::Tensor factor_of(const torch::Tensor& f) {
  return torch::nn::functional::normalize(f.pow(2).mean(1).view({f.size(0), -1}),
                                          torch::nn::functional::NormalizeFuncOptions().p(2).dim(1));
}

class FactorTransfer : public DistillTerm {
 public:
  // A pure function of the batch on the device: its step may be captured as a CUDA graph.
  bool capturable() const override { return true; }
  explicit FactorTransfer(const TermContext& ctx)
      : paraphraser_(ctx.teacher.features.back()[1]),
        translator_(translator(ctx.student.features.back()[1], ctx.teacher.features.back()[1])) {
    modules_->register_module("translator", translator_);
    modules_->register_module("paraphraser", paraphraser_);
    // Frozen in the main training (RepDistiller leaves it out of the optimizer); the init stage
    // turns it on.
    for (auto& p : paraphraser_->parameters()) p.set_requires_grad(false);
  }
  torch::Tensor operator()(const models::ModelOutput& s, const models::ModelOutput& t, const torch::Tensor&) override {
    auto fs = translator_->forward(s.features.back().to(torch::kFloat32));
    torch::Tensor ft;
    {
      torch::NoGradGuard no_grad;
      paraphraser_->eval();
      ft = paraphraser_->factor(t.features.back().to(torch::kFloat32));
    }
    std::tie(fs, ft) = match_spatial(fs, ft);
    return (factor_of(fs) - factor_of(ft)).abs().mean();
  }
  std::shared_ptr<torch::nn::Module> trainable() override { return modules_; }
  bool has_init_stage() const override { return true; }
  InitStage init_stage() override {
    return {.trains_student = false, .preact = false, .modules = paraphraser_.ptr(), .lr = 0.01};
  }
  torch::Tensor init_loss(const models::ModelOutput&, const models::ModelOutput& t) override {
    const auto ft = t.features.back().to(torch::kFloat32);
    return torch::mse_loss(paraphraser_->reconstruct(ft), ft);
  }

 private:
  std::shared_ptr<torch::nn::Module> modules_ = std::make_shared<torch::nn::Module>();
  Paraphraser paraphraser_;
  nn::Sequential translator_;
};

}  // namespace

std::unique_ptr<DistillTerm> make_factor_transfer(const TermContext& ctx) {
  return std::make_unique<FactorTransfer>(ctx);
}

}  // namespace kdprune::losses::feature
