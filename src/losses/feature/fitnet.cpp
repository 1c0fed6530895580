// FitNets (Romero et al. 2015), as RepDistiller: HintLoss (distiller_zoo/FitNet.py, MSE) between
// the teacher's hint layer and the student's, the student side through ConvReg
// (models/util.py: conv sized by the two maps, BatchNorm, ReLU), trained with the student.
// Hint layer: feat[2] (train_student.py --hint_layer default 2), the second stage's output.
#include "feature_common.h"
#include "kdprune/util/error.h"

namespace kdprune::losses::feature {
namespace {

constexpr size_t kHintLayer = 2;

// ConvReg: stride-2 3×3 conv when the student map is twice the teacher's, a stride-2 4×4
// transposed conv when half, else a valid conv of size 1 + s − t.
class ConvRegImpl : public torch::nn::Module {
 public:
  ConvRegImpl(const std::vector<int64_t>& s, const std::vector<int64_t>& t, const std::string& loss) {
    const int64_t sc = s[1], sh = s[2], sw = s[3], tc = t[1], th = t[2], tw = t[3];
    namespace nn = torch::nn;
    if (sh == 2 * th) {
      conv_ = nn::AnyModule(nn::Conv2d(nn::Conv2dOptions(sc, tc, 3).stride(2).padding(1)));
    } else if (sh * 2 == th) {
      conv_ = nn::AnyModule(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(sc, tc, 4).stride(2).padding(1)));
    } else if (sh >= th) {
      conv_ = nn::AnyModule(nn::Conv2d(nn::Conv2dOptions(sc, tc, {1 + sh - th, 1 + sw - tw})));
    } else {
      throw Error("KD loss '" + loss + "': no regressor from the student's hint layer (" + shape_text(s) +
                  ") to the teacher's (" + shape_text(t) + "): the student map is smaller, not half");
    }
    register_module("conv", conv_.ptr());
    bn_ = register_module("bn", nn::BatchNorm2d(tc));
  }
  torch::Tensor forward(const torch::Tensor& x) { return torch::relu(bn_(conv_.forward(x))); }

 private:
  torch::nn::AnyModule conv_;
  torch::nn::BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(ConvReg);

class FitNet : public DistillTerm {
 public:
  FitNet(const TermContext& ctx) : reg_(ctx.student.features[kHintLayer], ctx.teacher.features[kHintLayer], ctx.name) {}
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
