// SP (Tung & Mori 2019), as RepDistiller's distiller_zoo/SP.py on the last stage output
// (feat[-2]): G = normalize(F F^T) per model, loss = ||G_t - G_s||_F^2 / B^2.
#include "feature_common.h"

namespace kdprune::losses::feature {
namespace {

class Similarity : public DistillTerm {
 public:
  // A pure function of the batch on the device: its step may be captured as a CUDA graph.
  bool capturable() const override { return true; }
  torch::Tensor operator()(const models::ModelOutput& s, const models::ModelOutput& t, const torch::Tensor&) override {
    const auto fs = s.features.back().to(torch::kFloat32), ft = t.features.back().to(torch::kFloat32);
    const int64_t b = fs.size(0);
    const auto opts = torch::nn::functional::NormalizeFuncOptions().dim(1);
    const auto vs = fs.reshape({b, -1}), vt = ft.reshape({b, -1});
    const auto gs = torch::nn::functional::normalize(vs.mm(vs.t()), opts);
    const auto gt = torch::nn::functional::normalize(vt.mm(vt.t()), opts);
    const auto diff = gt - gs;
    return (diff * diff).sum() / static_cast<double>(b * b);
  }
};

}  // namespace

std::unique_ptr<DistillTerm> make_similarity(const TermContext&) { return std::make_unique<Similarity>(); }

}  // namespace kdprune::losses::feature
