#include "kdprune/train/device_step.h"

#include <optional>

#include "kdprune/train/cuda_graph.h"
#include "kdprune/train/lr_schedule.h"
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

DeviceUpdate::DeviceUpdate(const TrainInputs& in, torch::optim::SGD& opt, const EpochShape& shape)
    : in_(in), opt_(opt), sgd_(opt), shape_(shape), totals_(in.data.train.images.device()) {
  lr_ = torch::zeros({shape.steps}, torch::TensorOptions().dtype(torch::kFloat32).device(in.data.train.images.device()));
}

void DeviceUpdate::begin_epoch(int64_t epoch) {
  std::vector<float> lr;
  for (int64_t s = 0; s < shape_.steps; ++s) lr.push_back(static_cast<float>(lr_at(in_.train, epoch, s, shape_.steps)));
  lr_.copy_(torch::tensor(lr));  // in place: a captured graph reads this storage
  totals_.reset();
}

StepOutputs DeviceUpdate::run(const DeviceBatch& b) {
  const auto& t = in_.train;
  models::ModelOutput out;
  {
    AutocastScope autocast(t.amp, b.x.device());
    std::optional<torch::NoGradGuard> frozen;
    if (in_.freeze_model) frozen.emplace();
    out = in_.model.forward_all(b.x);
  }
  // Epoch, step and seed are the capture-time values: only losses without per-step host state
  // (TrainInputs::loss_capturable) are captured.
  const BatchInfo info{b.positions, b.epoch, b.step, shape_.n, stream_seed(in_.seed, b.epoch * shape_.steps + b.step, kLossStream)};
  const auto loss = in_.loss(b.x, out, b.labels, info);
  // Gradients set to none: backward writes fresh ones (inside a capture, into the graph's pool).
  for (auto& group : opt_.param_groups())
    for (auto& p : group.params()) p.mutable_grad().reset();
  loss.backward();
  sgd_.step(lr_.index_select(0, b.step_index.view({1})));
  StepOutputs o{b.indices, out.logits.detach(), b.labels};
  totals_.add(loss.detach(), o.logits, o.labels, b.step_index, b.len);
  return o;
}

DeviceStep::DeviceStep(const TrainInputs& lead, std::vector<DeviceUpdate*> updates, const EpochShape& shape,
                       const AugmentSpec& aug, const data::Normalizer& normalise, bool graph)
    : lead_(lead), updates_(std::move(updates)), shape_(shape), aug_(aug), normalise_(normalise),
      eager_out_(updates_.size()), graph_out_(updates_.size()) {
  const auto device = lead.data.train.images.device();
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(device);
  step_index_ = torch::zeros({}, i64);
  lanes_ = torch::arange(shape.batch, i64);
  fork_ = std::make_unique<ForkJoin>(device, updates_.size());
  if (graph) graph_ = std::make_unique<StepGraph>();
}

DeviceStep::~DeviceStep() = default;

void DeviceStep::begin_epoch(const EpochPlan& plan, int64_t epoch) {
  plan_.copy_from(plan);
  step_index_.zero_();
  epoch_ = epoch;
}

void DeviceStep::compute(int64_t len, int64_t step, std::vector<StepOutputs>& out) {
  const auto pos = step_index_ * shape_.batch + lanes_.slice(0, 0, len);
  const auto indices = plan_.order.index_select(0, pos);
  auto x = apply_augment(lead_.data.train.images.index_select(0, indices), plan_.augment.index_select(pos), normalise_, aug_);
  if (channels_last_on(lead_.train)) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  const DeviceBatch b{indices, plan_.positions.index_select(0, pos), x, lead_.data.train.labels.index_select(0, indices),
                      step_index_, epoch_, step, len};
  // The batch's tensors outlive the join below, so no stream reuses their memory while another reads it.
  fork_->run([&](size_t i) { out[i] = updates_[i]->run(b); });
  step_index_.add_(1);
}

void DeviceStep::run(int64_t step) {
  const int64_t len = std::min(shape_.batch, shape_.usable - step * shape_.batch);
  if (!graph_ || len != shape_.batch || (!graph_->captured() && warmed_up_ < kWarmupSteps)) {
    if (graph_ && len == shape_.batch) ++warmed_up_;
    compute(len, step, eager_out_);
    current_ = &eager_out_;
    return;
  }
  if (!graph_->captured()) graph_->capture([&] { compute(len, step, graph_out_); });
  graph_->replay();
  current_ = &graph_out_;
}

}  // namespace kdprune::train
