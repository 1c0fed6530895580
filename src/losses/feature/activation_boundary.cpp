// AB (Heo et al. 2019, activation boundaries), as RepDistiller's distiller_zoo/AB.py with
// train_student.py and helper/pretrain.py: on the stages' pre-activation outputs (feat[1:-1] with
// preact=True), the student's through a connector (identity where channels and size agree, else
// ConvReg without ReLU: models/util.py Connector), each layer's alternative L2 with margin m = 1,
//   Σ (s + m)²·[s > −m ∧ t ≤ 0] + (s − m)²·[s ≤ m ∧ t > 0],
// weighted 2^(i − n + 1) (the last stage 1, the one before ½, ...), divided by the batch size and
// scaled by 3/1000, summed. RepDistiller trains it only in the init stage (the student's feature
// layers and the connectors, kd.init_epochs); in the main training the term is 0 (loops.py:
// loss_kd = 0) and the connectors are left unused.
#include <cmath>

#include "feature_common.h"
#include "kdprune/util/error.h"

namespace kdprune::losses::feature {
namespace {

constexpr double kMargin = 1.0;

torch::Tensor alternative_l2(const torch::Tensor& s, const torch::Tensor& t) {
  const auto below = (s > -kMargin) & (t <= 0), above = (s <= kMargin) & (t > 0);
  return ((s + kMargin).pow(2) * below.to(s.scalar_type()) + (s - kMargin).pow(2) * above.to(s.scalar_type())).sum();
}

class Ab : public DistillTerm {
 public:
  // A pure function of the batch on the device: its step may be captured as a CUDA graph.
  bool capturable() const override { return true; }
  explicit Ab(const TermContext& ctx) {
    for (size_t i = 1; i < ctx.student.features.size(); ++i) {
      const auto &s = ctx.student.features[i], &t = ctx.teacher.features[i];
      const std::string name = "connector" + std::to_string(i);
      if (s[1] == t[1] && s[2] == t[2])
        connectors_.push_back(ConvReg(nullptr));
      else
        connectors_.push_back(connectors_holder_->register_module(
            name, ConvReg(s, t, ctx.name, false, "feat[" + std::to_string(i) + "]")));
    }
  }
  torch::Tensor operator()(const models::ModelOutput& s, const models::ModelOutput&, const torch::Tensor&) override {
    return torch::zeros({}, s.logits.options().dtype(torch::kFloat32));
  }
  bool has_init_stage() const override { return true; }
  InitStage init_stage() override {
    return {.trains_student = true, .preact = true, .modules = connectors_holder_->children().empty() ? nullptr : connectors_holder_};
  }
  torch::Tensor init_loss(const models::ModelOutput& s, const models::ModelOutput& t) override {
    const auto gs = stage_outputs(s), gt = stage_outputs(t);
    const auto n = static_cast<int64_t>(gs.size());
    const auto batch = static_cast<double>(gs.front().size(0));
    torch::Tensor loss = torch::zeros({}, gs.front().options().dtype(torch::kFloat32));
    for (int64_t i = 0; i < n; ++i) {
      auto si = gs[i].to(torch::kFloat32);
      if (connectors_[i]) si = connectors_[i](si);
      const double weight = std::ldexp(1.0, static_cast<int>(i - n + 1));
      loss = loss + alternative_l2(si, gt[i].to(torch::kFloat32)) * (weight / batch / 1000.0 * 3.0);
    }
    return loss;
  }

 private:
  std::shared_ptr<torch::nn::Module> connectors_holder_ = std::make_shared<torch::nn::Module>();
  std::vector<ConvReg> connectors_;
};

}  // namespace

std::unique_ptr<DistillTerm> make_ab(const TermContext& ctx) {
  require_same_stages(ctx);
  return std::make_unique<Ab>(ctx);
}

}  // namespace kdprune::losses::feature
