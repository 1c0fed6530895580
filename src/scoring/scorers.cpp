#include "kdprune/scoring/scorers.h"

namespace kdprune::prune {

ForgettingCounter::ForgettingCounter(int64_t n, const torch::Device& device) {
  last_ = torch::full({n}, -1, torch::TensorOptions().dtype(torch::kInt8).device(device));
  events_ = torch::zeros({n}, torch::TensorOptions().dtype(torch::kInt64).device(device));
  learned_ = torch::zeros({n}, torch::TensorOptions().dtype(torch::kBool).device(device));
  presented_ = torch::zeros({n}, torch::TensorOptions().dtype(torch::kInt64).device(device));
}

void ForgettingCounter::on_step(const train::StepRecord& r) { record(r.indices, r.logits.argmax(1).eq(r.labels)); }

void ForgettingCounter::record(const torch::Tensor& indices, const torch::Tensor& correct) {
  const auto before = last_.index_select(0, indices);
  const auto forgot = before.eq(1) & correct.logical_not();
  events_.index_add_(0, indices, forgot.to(torch::kInt64));
  learned_.index_put_({indices}, learned_.index_select(0, indices) | correct);
  last_.index_put_({indices}, correct.to(torch::kInt8));
  presented_.index_add_(0, indices, torch::ones_like(indices));
}

torch::Tensor ForgettingCounter::scores() const {
  return torch::where(learned_, events_.to(torch::kFloat64), presented_.to(torch::kFloat64));
}

torch::Tensor el2n_from_logits(const torch::Tensor& logits, const torch::Tensor& labels) {
  const auto p = torch::softmax(logits.to(torch::kFloat32), 1);
  const auto onehot = torch::one_hot(labels, logits.size(1)).to(torch::kFloat32);
  return (p - onehot).norm(2, {1});
}

torch::Tensor grand_last_layer(const torch::Tensor& logits, const torch::Tensor& embedding, const torch::Tensor& labels) {
  const auto e = el2n_from_logits(logits, labels);
  const auto h2 = embedding.to(torch::kFloat32).pow(2).sum(1);
  return e * (h2 + 1.0).sqrt();
}

torch::Tensor grand_full(models::ModelImpl& model, const torch::Tensor& x, const torch::Tensor& labels) {
  const auto params = model.parameters();
  auto out = torch::empty({x.size(0)}, torch::TensorOptions().dtype(torch::kFloat32));
  for (int64_t i = 0; i < x.size(0); ++i) {
    const auto loss = torch::nn::functional::cross_entropy(model.forward(x.slice(0, i, i + 1)), labels.slice(0, i, i + 1));
    const auto grads = torch::autograd::grad({loss}, params, {}, false, false, true);
    double sq = 0;
    for (const auto& g : grads)
      if (g.defined()) sq += g.pow(2).sum().item<double>();
    out[i] = std::sqrt(sq);
  }
  return out;
}

torch::Tensor class_median_distance(const torch::Tensor& embedding, const torch::Tensor& labels, int64_t classes) {
  const auto h = embedding.to(torch::kFloat64);
  auto out = torch::zeros({h.size(0)}, h.options());
  for (int64_t c = 0; c < classes; ++c) {
    const auto idx = labels.eq(c).nonzero().squeeze(1);
    const int64_t m = idx.size(0);
    if (m == 0) continue;
    // np.median over axis 0: the middle value of each coordinate, or the mean of the two middle
    // values when the class has an even count (torch::median would take the lower one).
    const auto sorted = std::get<0>(h.index_select(0, idx).sort(0));
    const auto median = (sorted[(m - 1) / 2] + sorted[m / 2]) / 2.0;
    out.index_put_({idx}, (h.index_select(0, idx) - median).norm(2, {1}));
  }
  return out;
}

}  // namespace kdprune::prune
