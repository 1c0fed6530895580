#include "kdprune/scoring/aum.h"

#include <limits>

namespace kdprune::prune {

ProbabilityMarginAum::ProbabilityMarginAum(int64_t n, const torch::Device& device) {
  sum_ = torch::zeros({n}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
  count_ = torch::zeros({n}, torch::TensorOptions().dtype(torch::kInt64).device(device));
}

void ProbabilityMarginAum::on_step(const train::StepRecord& r) { record(r.indices, r.logits, r.labels); }

void ProbabilityMarginAum::record(const torch::Tensor& indices, const torch::Tensor& logits, const torch::Tensor& labels) {
  torch::NoGradGuard ng;
  const auto p = torch::softmax(logits.to(torch::kFloat32), 1);
  const auto y = labels.unsqueeze(1);
  const auto p_y = p.gather(1, y).squeeze(1);
  const auto others = std::get<0>(p.scatter(1, y, -1.0f).max(1));
  sum_.index_add_(0, indices, (p_y - others).to(torch::kFloat64));
  count_.index_add_(0, indices, torch::ones_like(indices));
}

torch::Tensor ProbabilityMarginAum::aum() const {
  const auto c = count_.to(torch::kFloat64);
  return torch::where(count_.gt(0), sum_ / c.clamp_min(1), torch::full_like(c, std::numeric_limits<double>::quiet_NaN()));
}

}  // namespace kdprune::prune
