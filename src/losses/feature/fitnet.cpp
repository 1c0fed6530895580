// FitNets (Romero et al. 2015), as RepDistiller: HintLoss (distiller_zoo/FitNet.py, MSE) between
// the teacher's hint layer and the student's, the student side through ConvReg
// (models/util.py: conv sized by the two maps, BatchNorm, ReLU; feature_common.h), trained with the student.
// Hint layer: feat[2] (train_student.py --hint_layer default 2), the second stage's output.
#include "feature_common.h"
#include "kdprune/util/error.h"

namespace kdprune::losses::feature {
namespace {

constexpr size_t kHintLayer = 2;

class FitNet : public DistillTerm {
 public:
  FitNet(const TermContext& ctx) : reg_(ctx.student.features[kHintLayer], ctx.teacher.features[kHintLayer], ctx.name, true) {}
  torch::Tensor operator()(const models::ModelOutput& s, const models::ModelOutput& t, const torch::Tensor&) override {
    return torch::mse_loss(reg_(s.features[kHintLayer].to(torch::kFloat32)), t.features[kHintLayer].to(torch::kFloat32));
  }
  std::shared_ptr<torch::nn::Module> trainable() override { return reg_.ptr(); }

 private:
  ConvReg reg_;
};

}  // namespace

std::unique_ptr<DistillTerm> make_fitnet(const TermContext& ctx) {
  if (ctx.student.features.size() <= kHintLayer || ctx.teacher.features.size() <= kHintLayer)
    throw Error("KD loss '" + ctx.name + "': the hint layer feat[2] needs at least two stages in student and teacher");
  return std::make_unique<FitNet>(ctx);
}

}  // namespace kdprune::losses::feature
