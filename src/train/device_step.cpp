#include "kdprune/train/device_step.h"

#include <optional>

#include "kdprune/train/cuda_graph.h"
#include "kdprune/train/precision.h"

namespace kdprune::train {
namespace {
// Eager steps before capture: cuDNN's algorithm search, cuBLAS workspaces and the momentum
// buffers must exist before recording (a buffer created inside the graph would be re-zeroed at
// every replay).
constexpr int64_t kWarmupSteps = 2;
}  // namespace

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

DeviceStep::DeviceStep(const TrainInputs& in, torch::optim::SGD& opt, const EpochShape& shape, const AugmentSpec& aug,
                       const data::Normalizer& normalise, bool graph)
    : in_(in), opt_(opt), sgd_(opt), shape_(shape), aug_(aug), normalise_(normalise),
      totals_(in.data.train.images.device()) {
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(in.data.train.images.device());
  step_index_ = torch::zeros({}, i64);
  lanes_ = torch::arange(shape.batch, i64);
  if (graph) graph_ = std::make_unique<StepGraph>();
}

DeviceStep::~DeviceStep() = default;

void DeviceStep::begin_epoch(const EpochPlan& plan, int64_t epoch) {
  plan_.copy_from(plan);
  totals_.reset();
  step_index_.zero_();
  epoch_ = epoch;
}

StepOutputs DeviceStep::compute(int64_t len, int64_t step) {
  const auto& t = in_.train;
  const auto pos = step_index_ * shape_.batch + lanes_.slice(0, 0, len);
  const auto positions = plan_.positions.index_select(0, pos);
  StepOutputs o;
  o.indices = plan_.order.index_select(0, pos);
  auto x = apply_augment(in_.data.train.images.index_select(0, o.indices), plan_.augment.index_select(pos), normalise_, aug_);
  if (t.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  o.labels = in_.data.train.labels.index_select(0, o.indices);
  models::ModelOutput out;
  {
    AutocastScope autocast(t.amp, x.device());
    std::optional<torch::NoGradGuard> frozen;
    if (in_.freeze_model) frozen.emplace();
    out = in_.model.forward_all(x);
  }
  // Epoch, step and seed are the capture-time values: only losses without per-step host state
  // (TrainInputs::loss_capturable) are captured.
  const BatchInfo batch{positions, epoch_, step, shape_.n, stream_seed(in_.seed, epoch_ * shape_.steps + step, kLossStream)};
  const auto loss = in_.loss(x, out, o.labels, batch);
  // Gradients set to none: backward writes fresh ones (inside a capture, into the graph's pool).
  for (auto& group : opt_.param_groups())
    for (auto& p : group.params()) p.mutable_grad().reset();
  loss.backward();
  sgd_.step(plan_.lr.index_select(0, step_index_.view({1})));
  o.logits = out.logits.detach();
  totals_.add(loss.detach(), o.logits, o.labels, step_index_, len);
  step_index_.add_(1);
  return o;
}

void DeviceStep::run(int64_t step) {
  const int64_t len = std::min(shape_.batch, shape_.usable - step * shape_.batch);
  if (!graph_ || len != shape_.batch || (!graph_->captured() && warmed_up_ < kWarmupSteps)) {
    if (graph_ && len == shape_.batch) ++warmed_up_;
    eager_out_ = compute(len, step);
    current_ = &eager_out_;
    return;
  }
  if (!graph_->captured()) graph_->capture([&] { graph_out_ = compute(len, step); });
  graph_->replay();
  current_ = &graph_out_;
}

}  // namespace kdprune::train
