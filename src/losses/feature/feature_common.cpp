#include "feature_common.h"

#include "kdprune/util/error.h"

namespace kdprune::losses::feature {

std::pair<torch::Tensor, torch::Tensor> match_spatial(torch::Tensor s, torch::Tensor t) {
  const int64_t sh = s.size(2), th = t.size(2);
  if (sh > th) s = torch::adaptive_avg_pool2d(s, {th, th});
  else if (sh < th) t = torch::adaptive_avg_pool2d(t, {sh, sh});
  return {s, t};
}

std::vector<torch::Tensor> stage_outputs(const models::ModelOutput& o) {
  return std::vector<torch::Tensor>(o.features.begin() + (o.features.empty() ? 0 : 1), o.features.end());
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s;  // C×H×W (the batch left out)
  for (size_t i = 1; i < shape.size(); ++i) {
    if (i > 1) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

void require_same_stages(const TermContext& ctx) {
  if (ctx.student.features.size() == ctx.teacher.features.size() && ctx.student.features.size() >= 2) return;
  auto list = [](const OutputShapes& o) {
    std::string s;
    for (size_t i = 1; i < o.features.size(); ++i) s += (i > 1 ? ", " : "") + shape_text(o.features[i]);
    return s;
  };
  throw Error("KD loss '" + ctx.name + "' pairs the stages of student and teacher, but the student has " +
              std::to_string(ctx.student.features.size() - 1) + " (" + list(ctx.student) + ") and the teacher " +
              std::to_string(ctx.teacher.features.size() - 1) + " (" + list(ctx.teacher) + ")");
}

ConvRegImpl::ConvRegImpl(const std::vector<int64_t>& s, const std::vector<int64_t>& t, const std::string& loss,
                         bool relu, const std::string& what)
    : relu_(relu) {
  const int64_t sc = s[1], sh = s[2], sw = s[3], tc = t[1], th = t[2], tw = t[3];
  namespace nn = torch::nn;
  if (sh == 2 * th) {
    conv_ = nn::AnyModule(nn::Conv2d(nn::Conv2dOptions(sc, tc, 3).stride(2).padding(1)));
  } else if (sh * 2 == th) {
    conv_ = nn::AnyModule(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(sc, tc, 4).stride(2).padding(1)));
  } else if (sh >= th) {
    conv_ = nn::AnyModule(nn::Conv2d(nn::Conv2dOptions(sc, tc, {1 + sh - th, 1 + sw - tw})));
  } else {
    throw Error("KD loss '" + loss + "': no regressor from the student's " + what + " (" + shape_text(s) +
                ") to the teacher's (" + shape_text(t) + "): the student map is smaller, not half");
  }
  register_module("conv", conv_.ptr());
  bn_ = register_module("bn", nn::BatchNorm2d(tc));
}

torch::Tensor ConvRegImpl::forward(const torch::Tensor& x) {
  const auto y = bn_(conv_.forward(x));
  return relu_ ? torch::relu(y) : y;
}

}  // namespace kdprune::losses::feature
