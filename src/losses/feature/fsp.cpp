// FSP (Yim et al. 2017), as RepDistiller's distiller_zoo/FSP.py with train_student.py and
// helper/pretrain.py: the "flow" matrices of consecutive feature maps (feat[:-1]: stem and
// stages; the larger map average-pooled to the smaller), G = mean over positions of f_i ⊗ f_{i+1},
// matched by mean squared error, summed. RepDistiller uses FSP only in its init stage
// (--init_epochs 30, the student's feature layers trained on this loss alone); in the main
// training its term is 0 (loops.py: loss_kd = 0). Student and teacher need equal channels per
// stage.
#include "feature_common.h"
#include "kdprune/util/error.h"

namespace kdprune::losses::feature {
namespace {

std::vector<torch::Tensor> flow_matrices(const std::vector<torch::Tensor>& g) {
  std::vector<torch::Tensor> out;
  for (size_t i = 0; i + 1 < g.size(); ++i) {
    auto [bot, top] = match_spatial(g[i].to(torch::kFloat32), g[i + 1].to(torch::kFloat32));
    const auto b = bot.unsqueeze(1).flatten(3), t = top.unsqueeze(2).flatten(3);  // B×1×Cb×HW, B×Ct×1×HW
    out.push_back((b * t).mean(-1));
  }
  return out;
}

class Fsp : public DistillTerm {
 public:
  // A pure function of the batch on the device: its step may be captured as a CUDA graph.
  bool capturable() const override { return true; }
  torch::Tensor operator()(const models::ModelOutput& s, const models::ModelOutput&, const torch::Tensor&) override {
    return torch::zeros({}, s.logits.options().dtype(torch::kFloat32));
  }
  bool has_init_stage() const override { return true; }
  torch::Tensor init_loss(const models::ModelOutput& s, const models::ModelOutput& t) override {
    const auto gs = flow_matrices(s.features), gt = flow_matrices(t.features);
    torch::Tensor loss = torch::zeros({}, gs.front().options());
    for (size_t i = 0; i < gs.size(); ++i) loss = loss + (gs[i] - gt[i]).pow(2).mean();
    return loss;
  }
};

}  // namespace

std::unique_ptr<DistillTerm> make_fsp(const TermContext& ctx) {
  require_same_stages(ctx);
  for (size_t i = 0; i < ctx.student.features.size(); ++i)
    if (ctx.student.features[i][1] != ctx.teacher.features[i][1])
      throw Error("KD loss '" + ctx.name + "' needs equal channels in every feature map (RepDistiller's FSP), but feat[" +
                  std::to_string(i) + "] is " + shape_text(ctx.student.features[i]) + " in the student and " +
                  shape_text(ctx.teacher.features[i]) + " in the teacher");
  return std::make_unique<Fsp>();
}

}  // namespace kdprune::losses::feature
