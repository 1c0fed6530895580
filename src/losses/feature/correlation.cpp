// CC (Peng et al. 2019), as RepDistiller's distiller_zoo/CC.py and train_student.py: the
// embeddings (feat[-1]) of student and teacher each through a trained linear embedding to 128
// dimensions (LinearEmbed, --feat_dim 128), delta = |e_s − e_t|, loss = mean over consecutive
// samples of Σ_d delta_i · delta_{i+1}.
#include "feature_common.h"

namespace kdprune::losses::feature {
namespace {

constexpr int64_t kFeatDim = 128;

class Correlation : public DistillTerm {
 public:
  // A pure function of the batch on the device: its step may be captured as a CUDA graph.
  bool capturable() const override { return true; }
  explicit Correlation(const TermContext& ctx) : modules_(std::make_shared<torch::nn::Module>()) {
    embed_s_ = modules_->register_module("embed_s", torch::nn::Linear(ctx.student.embedding, kFeatDim));
    embed_t_ = modules_->register_module("embed_t", torch::nn::Linear(ctx.teacher.embedding, kFeatDim));
  }
  torch::Tensor operator()(const models::ModelOutput& s, const models::ModelOutput& t, const torch::Tensor&) override {
    const auto fs = embed_s_(s.embedding.to(torch::kFloat32).reshape({s.embedding.size(0), -1}));
    const auto ft = embed_t_(t.embedding.to(torch::kFloat32).reshape({t.embedding.size(0), -1}));
    const auto delta = (fs - ft).abs();
    const int64_t b = delta.size(0);
    return (delta.slice(0, 0, b - 1) * delta.slice(0, 1, b)).sum(1).mean();
  }
  std::shared_ptr<torch::nn::Module> trainable() override { return modules_; }

 private:
  std::shared_ptr<torch::nn::Module> modules_;
  torch::nn::Linear embed_s_{nullptr}, embed_t_{nullptr};
};

}  // namespace

std::unique_ptr<DistillTerm> make_correlation(const TermContext& ctx) { return std::make_unique<Correlation>(ctx); }

}  // namespace kdprune::losses::feature
