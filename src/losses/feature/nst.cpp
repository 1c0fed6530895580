// NST (Huang & Wang 2017), as RepDistiller's distiller_zoo/NST.py per stage after the stem
// (feat[1:-1]): each channel's spatial map L2-normalised, MMD with the polynomial kernel
// (a·b)^2: mean k(t,t) (no gradient) + mean k(s,s) − 2 mean k(s,t), summed over the stages.
#include "feature_common.h"

namespace kdprune::losses::feature {
namespace {

torch::Tensor poly_kernel(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.unsqueeze(1) * b.unsqueeze(2)).sum(-1).pow(2);
}

class Nst : public DistillTerm {
 public:
  // A pure function of the batch on the device: its step may be captured as a CUDA graph.
  bool capturable() const override { return true; }
  torch::Tensor operator()(const models::ModelOutput& s, const models::ModelOutput& t, const torch::Tensor&) override {
    const auto gs = stage_outputs(s), gt = stage_outputs(t);
    const auto opts = torch::nn::functional::NormalizeFuncOptions().dim(2);
    torch::Tensor loss = torch::zeros({}, gs.front().options().dtype(torch::kFloat32));
    for (size_t i = 0; i < gs.size(); ++i) {
      auto [fs, ft] = match_spatial(gs[i].to(torch::kFloat32), gt[i].to(torch::kFloat32));
      fs = torch::nn::functional::normalize(fs.reshape({fs.size(0), fs.size(1), -1}), opts);
      ft = torch::nn::functional::normalize(ft.reshape({ft.size(0), ft.size(1), -1}), opts);
      loss = loss + poly_kernel(ft, ft).mean().detach() + poly_kernel(fs, fs).mean() - 2 * poly_kernel(fs, ft).mean();
    }
    return loss;
  }
};

}  // namespace

std::unique_ptr<DistillTerm> make_nst(const TermContext& ctx) {
  require_same_stages(ctx);
  return std::make_unique<Nst>();
}

}  // namespace kdprune::losses::feature
