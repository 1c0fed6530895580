// FitNets (Romero et al. 2015), as RepDistiller: HintLoss (distiller_zoo/FitNet.py, MSE) between
// the teacher's hint layer and the student's, the student side through ConvReg
// (models/util.py: conv sized by the two maps, BatchNorm, ReLU; feature_common.h), trained with the student.
// Hint layer: feat[kd.hint_layer], default 2 (train_student.py --hint_layer), the second stage's output.
#include "feature_common.h"
#include "kdprune/util/error.h"

namespace kdprune::losses::feature {
namespace {

class FitNet : public DistillTerm {
 public:
  // A pure function of the batch on the device: its step may be captured as a CUDA graph.
  bool capturable() const override { return true; }
  FitNet(const TermContext& ctx, size_t hint)
      : hint_(hint), reg_(ctx.student.features[hint], ctx.teacher.features[hint], ctx.name, true) {}
  torch::Tensor operator()(const models::ModelOutput& s, const models::ModelOutput& t, const torch::Tensor&) override {
    return torch::mse_loss(reg_(s.features[hint_].to(torch::kFloat32)), t.features[hint_].to(torch::kFloat32));
  }
  std::shared_ptr<torch::nn::Module> trainable() override { return reg_.ptr(); }

 private:
  size_t hint_;
  ConvReg reg_;
};

}  // namespace

std::unique_ptr<DistillTerm> make_fitnet(const TermContext& ctx) {
  const auto hint = static_cast<size_t>(ctx.kd.hint_layer);
  const size_t maps = std::min(ctx.student.features.size(), ctx.teacher.features.size());
  if (hint >= maps)
    throw Error("KD loss '" + ctx.name + "': kd.hint_layer = " + std::to_string(hint) + ", but feat[0.." +
                std::to_string(maps - 1) + "] (the stem and " + std::to_string(maps - 1) +
                " stages) are what student and teacher both have");
  return std::make_unique<FitNet>(ctx, hint);
}

}  // namespace kdprune::losses::feature
