// RKD (Park et al. 2019), as RepDistiller's distiller_zoo/RKD.py on the embeddings (feat[-1]):
// 25 · smoothL1(distances / their mean) + 50 · smoothL1(angles), teacher side without gradients.
#include "feature_common.h"

namespace kdprune::losses::feature {
namespace {

// Pairwise Euclidean distances, clamped at 1e-12 before the root, diagonal zero (RKD.py pdist).
torch::Tensor pairwise_distances(const torch::Tensor& e) {
  const auto sq = e.pow(2).sum(1);
  auto d = (sq.unsqueeze(1) + sq.unsqueeze(0) - 2 * e.mm(e.t())).clamp_min(1e-12).sqrt();
  return d * (1 - torch::eye(e.size(0), d.options()));
}

torch::Tensor normalised_distances(const torch::Tensor& e) {
  const auto d = pairwise_distances(e);
  return d / d.masked_select(d > 0).mean();
}

torch::Tensor angles(const torch::Tensor& e) {
  const auto diff = e.unsqueeze(0) - e.unsqueeze(1);
  const auto n = torch::nn::functional::normalize(diff, torch::nn::functional::NormalizeFuncOptions().p(2).dim(2));
  return torch::bmm(n, n.transpose(1, 2)).reshape({-1});
}

class Rkd : public DistillTerm {
 public:
  // A pure function of the batch on the device: its step may be captured as a CUDA graph.
  bool capturable() const override { return true; }
  torch::Tensor operator()(const models::ModelOutput& s, const models::ModelOutput& t, const torch::Tensor&) override {
    const auto es = s.embedding.to(torch::kFloat32).reshape({s.embedding.size(0), -1});
    const auto et = t.embedding.to(torch::kFloat32).reshape({t.embedding.size(0), -1}).detach();
    torch::Tensor td, ta;
    {
      torch::NoGradGuard no_grad;
      td = normalised_distances(et), ta = angles(et);
    }
    const auto loss_d = torch::smooth_l1_loss(normalised_distances(es), td);
    const auto loss_a = torch::smooth_l1_loss(angles(es), ta);
    return 25.0 * loss_d + 50.0 * loss_a;
  }
};

}  // namespace

std::unique_ptr<DistillTerm> make_rkd(const TermContext&) { return std::make_unique<Rkd>(); }

}  // namespace kdprune::losses::feature
