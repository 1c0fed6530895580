#include "device_step.h"

#include "kdprune/train/cuda_graph.h"
#include "kdprune/train/precision.h"

namespace kdprune::train {
namespace {
// Eager steps before capture: cuDNN's algorithm search, cuBLAS workspaces and the momentum
// buffers must exist before recording (a buffer created inside the graph would be re-zeroed at
// every replay).
constexpr int64_t kWarmupSteps = 2;
}  // namespace

DeviceStep::DeviceStep(Shared shared, std::vector<std::shared_ptr<BatchPrelude>> preludes, std::vector<ModelStep> models,
                       const EpochShape& shape, const AugmentSpec& aug, data::Normalizer normalise, bool graph)
    : shared_(std::move(shared)), preludes_(std::move(preludes)), models_(std::move(models)), shape_(shape), aug_(aug), normalise_(std::move(normalise)),
      eager_out_(models_.size()), graph_out_(models_.size()) {
  const auto device = shared_.images.device();
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(device);
  step_index_ = torch::zeros({}, i64);
  seeds_ = torch::zeros({std::max<int64_t>(shape.steps, 1)}, i64);
  lanes_ = torch::arange(shape.batch, i64);
  fork_ = std::make_unique<ForkJoin>(device, preludes_.size() + models_.size(), preludes_.size());
  if (graph) graph_ = std::make_unique<StepGraph>();
}

DeviceStep::~DeviceStep() = default;

void DeviceStep::begin_epoch(const EpochPlan& plan, int64_t epoch, int64_t step) {
  plan_.copy_from(plan);
  step_index_.fill_(step);
  std::vector<int64_t> seeds;
  for (int64_t s = 0; s < shape_.steps; ++s)
    seeds.push_back(static_cast<int64_t>(stream_seed(shared_.seed, epoch * shape_.steps + s, kLossStream)));
  if (!seeds.empty()) seeds_.slice(0, 0, shape_.steps).copy_(torch::tensor(seeds, torch::kInt64));  // in place: a graph reads it
  epoch_ = epoch;
}

void DeviceStep::compute(int64_t len, int64_t step, std::vector<StepOutputs>& out) {
  const auto pos = step_index_ * shape_.batch + lanes_.slice(0, 0, len);
  const auto indices = plan_.order.index_select(0, pos);
  auto x = apply_augment(shared_.images.index_select(0, indices), plan_.augment.index_select(pos), normalise_, aug_);
  if (shared_.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  StepBatch b{.indices = indices,
              .positions = plan_.positions.index_select(0, pos),
              .x = x,
              .labels = shared_.labels.index_select(0, indices),
              .step_index = step_index_,
              .seed = seeds_.index_select(0, step_index_.view({1})).squeeze(0),
              .epoch = epoch_,
              .step = step,
              .rng_seed = stream_seed(shared_.seed, epoch_ * shape_.steps + step, kLossStream),
              .samples = len,
              .step_samples = len};
  // The batch's tensors outlive the join below, so no stream reuses their memory while another reads it.
  // The preludes are issued first: the models' forwards run beside them, their losses wait for them.
  const size_t p = preludes_.size();
  fork_->run([&](size_t i) {
    if (i < p) preludes_[i]->run(b.x);
    else out[i - p] = models_[i - p](b);
  });
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
