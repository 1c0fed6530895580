// AT (Zagoruyko & Komodakis 2017), as RepDistiller's distiller_zoo/AT.py: per stage after the
// stem (feat[1:-1]), the attention map at(f) = normalize(mean_c f^p) with p = 2, flattened; the
// loss is the mean squared difference of the maps, summed over the stages.
#include "feature_common.h"

namespace kdprune::losses::feature {
namespace {

torch::Tensor attention_map(const torch::Tensor& f) {
  return torch::nn::functional::normalize(f.pow(2).mean(1).view({f.size(0), -1}),
                                          torch::nn::functional::NormalizeFuncOptions().dim(1));
}

class Attention : public DistillTerm {
 public:
  // A pure function of the batch on the device: its step may be captured as a CUDA graph.
  bool capturable() const override { return true; }
  torch::Tensor operator()(const models::ModelOutput& s, const models::ModelOutput& t, const torch::Tensor&) override {
    const auto gs = stage_outputs(s), gt = stage_outputs(t);
    torch::Tensor loss = torch::zeros({}, gs.front().options().dtype(torch::kFloat32));
    for (size_t i = 0; i < gs.size(); ++i) {
      auto [fs, ft] = match_spatial(gs[i].to(torch::kFloat32), gt[i].to(torch::kFloat32));
      loss = loss + (attention_map(fs) - attention_map(ft)).pow(2).mean();
    }
    return loss;
  }
};

}  // namespace

std::unique_ptr<DistillTerm> make_attention(const TermContext& ctx) {
  require_same_stages(ctx);
  return std::make_unique<Attention>();
}

}  // namespace kdprune::losses::feature
