#include "kdprune/scoring/dynamics.h"

#include <limits>

namespace kdprune::prune {

DynamicsRecorder::DynamicsRecorder(int64_t n, int64_t epochs, const torch::Device& device) {
  const auto half = torch::TensorOptions().dtype(torch::kFloat16).device(device);
  prob_ = torch::full({epochs, n}, std::numeric_limits<float>::quiet_NaN(), half);
  loss_ = torch::full({epochs, n}, std::numeric_limits<float>::quiet_NaN(), half);
  margin_ = torch::full({epochs, n}, std::numeric_limits<float>::quiet_NaN(), half);
  correct_ = torch::full({epochs, n}, 255, torch::TensorOptions().dtype(torch::kUInt8).device(device));
}

void DynamicsRecorder::on_step(const train::StepRecord& r) { record(r.epoch, r.indices, r.logits, r.labels); }

void DynamicsRecorder::record(int64_t epoch, const torch::Tensor& indices, const torch::Tensor& logits,
                              const torch::Tensor& labels) {
  if (epoch < 0 || epoch >= epochs()) return;
  torch::NoGradGuard ng;
  const auto z = logits.to(torch::kFloat32);
  const auto logp = torch::log_softmax(z, 1);
  const auto y = labels.unsqueeze(1);
  const auto logp_y = logp.gather(1, y).squeeze(1);
  const auto z_y = z.gather(1, y).squeeze(1);
  const auto others = z.scatter(1, y, -std::numeric_limits<float>::infinity());
  const auto row = epoch;
  prob_[row].index_put_({indices}, logp_y.exp().to(torch::kFloat16));
  loss_[row].index_put_({indices}, (-logp_y).to(torch::kFloat16));
  margin_[row].index_put_({indices}, (z_y - std::get<0>(others.max(1))).to(torch::kFloat16));
  correct_[row].index_put_({indices}, z.argmax(1).eq(labels).to(torch::kUInt8));
}

torch::Tensor DynamicsRecorder::forgetting_scores() const {
  const auto c = correct_.to(torch::kInt64);
  auto events = torch::zeros({c.size(1)}, c.options());
  if (c.size(0) > 1) events = (c.slice(0, 0, -1).eq(1) & c.slice(0, 1).eq(0)).sum(0);
  const auto learned = c.eq(1).any(0);
  const auto presented = c.ne(255).sum(0).to(torch::kFloat64);
  return torch::where(learned, events.to(torch::kFloat64), presented);
}

torch::Tensor DynamicsRecorder::area_under_margin() const { return margin_.to(torch::kFloat32).nanmean(0); }

torch::Tensor dual_scores(const torch::Tensor& prob_history, int64_t window) {
  const auto p = prob_history.to(torch::kFloat64);
  const int64_t t = p.size(0);
  const int64_t j = std::min(window, t);
  const auto windows = p.unfold(0, j, 1);  // [T - J + 1, N, J]
  const auto mean = windows.mean(-1);
  const auto sd = windows.std(-1, /*unbiased=*/true);  // torch's default, as the reference
  return (10.0 * sd * (1.0 - mean)).mean(0);
}

}  // namespace kdprune::prune
