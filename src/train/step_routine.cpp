#include "step_routine.h"

#include <optional>

namespace kdprune::train {

EpochTotals::EpochTotals(const torch::Device& device) {
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(device);
  loss_sum = torch::zeros({}, i64.dtype(torch::kFloat64));
  correct = torch::zeros({}, i64);
  first_bad = torch::full({}, -1, i64);
}

void EpochTotals::reset() {
  loss_sum.zero_();
  correct.zero_();
  first_bad.fill_(-1);
}

void EpochTotals::add(const torch::Tensor& loss, const torch::Tensor& logits, const torch::Tensor& labels,
                      const torch::Tensor& step, int64_t batch) {
  first_bad.copy_(torch::where(first_bad.lt(0) & ~torch::isfinite(loss), step, first_bad));
  loss_sum.add_(loss.to(torch::kFloat64) * static_cast<double>(batch));
  correct.add_(logits.argmax(1).eq(labels).sum());
}

StepOutputs train_step(const StepModel& m, const StepBatch& b, UpdateRule& update, EpochTotals& totals) {
  update.before_forward(b);
  models::ModelOutput out;
  {
    AutocastScope autocast(m.amp, b.x.device());
    std::optional<torch::NoGradGuard> frozen;
    if (m.frozen) frozen.emplace();
    out = m.model.forward_all(b.x);
  }
  const BatchInfo info{b.positions, b.epoch, b.step, m.view_size, b.rng_seed, b.step_index, b.seed};
  const auto loss = m.loss(b.x, out, b.labels, info);
  // Gradients set to none: backward writes fresh ones (inside a capture, into the graph's pool).
  for (auto p : m.params) p.mutable_grad().reset();
  update.backward(loss, b);
  update.apply(b);
  StepOutputs o{b.indices, out.logits.detach(), b.labels};
  totals.add(loss.detach(), o.logits, o.labels, b.step_index, b.samples);
  return o;
}

}  // namespace kdprune::train
