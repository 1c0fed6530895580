// PKT (Passalis & Tefas 2018), as RepDistiller's distiller_zoo/PKT.py on the embeddings
// (feat[-1]): cosine similarities mapped to [0, 1], rows normalised to distributions, and
// mean(p_t · log((p_t + eps) / (p_s + eps))) with eps = 1e-7.
#include "feature_common.h"

namespace kdprune::losses::feature {
namespace {

torch::Tensor conditional(const torch::Tensor& x, double eps) {
  auto n = x / (x.pow(2).sum(1, true).sqrt() + eps);
  n = torch::where(torch::isnan(n), torch::zeros_like(n), n);
  auto sim = (n.mm(n.t()) + 1.0) / 2.0;
  return sim / sim.sum(1, true);
}

class Pkt : public DistillTerm {
 public:
  // A pure function of the batch on the device: its step may be captured as a CUDA graph.
  bool capturable() const override { return true; }
  torch::Tensor operator()(const models::ModelOutput& s, const models::ModelOutput& t, const torch::Tensor&) override {
    constexpr double eps = 1e-7;
    const auto ps = conditional(s.embedding.to(torch::kFloat32), eps);
    const auto pt = conditional(t.embedding.to(torch::kFloat32), eps);
    return (pt * torch::log((pt + eps) / (ps + eps))).mean();
  }
};

}  // namespace

std::unique_ptr<DistillTerm> make_pkt(const TermContext&) { return std::make_unique<Pkt>(); }

}  // namespace kdprune::losses::feature
