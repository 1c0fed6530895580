#include "kdprune/train/epoch_plan.h"

namespace kdprune::train {

uint64_t stream_seed(int64_t seed, int64_t epoch, uint64_t stream) {
  uint64_t z = static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch) * 0xBF58476D1CE4E5B9ULL + stream;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

torch::Tensor epoch_permutation(int64_t n, int64_t seed, int64_t epoch) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(stream_seed(seed, epoch, kOrderStream));
  return torch::randperm(n, gen, torch::kInt64);
}

EpochShape::EpochShape(int64_t n_, int64_t batch_, int64_t min_last) : n(n_), batch(batch_) {
  const int64_t last = n % batch;
  usable = (last > 0 && last < min_last && n > last) ? n - last : n;
  steps = (usable + batch - 1) / batch;
  full_steps = usable / batch;
}

EpochPlan make_epoch_plan(const torch::Tensor& view, const EpochShape& shape, const AugmentSpec& spec,
                          int64_t seed, int64_t epoch) {
  const auto device = view.device();
  EpochPlan plan;
  plan.positions = epoch_permutation(shape.n, seed, epoch).slice(0, 0, shape.usable).to(device);
  plan.order = view.index_select(0, plan.positions);
  // Drawn batch by batch, in the order the per-batch loop has always drawn them.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(stream_seed(seed, epoch, kAugmentStream));
  std::vector<torch::Tensor> oy, ox, flip;
  for (int64_t step = 0; step < shape.steps; ++step) {
    const int64_t b = std::min(shape.batch, shape.usable - step * shape.batch);
    const AugmentDraws d = draw_augment(spec, b, gen);
    if (d.oy.defined()) oy.push_back(d.oy), ox.push_back(d.ox);
    if (d.flip.defined()) flip.push_back(d.flip);
  }
  if (!oy.empty()) plan.augment.oy = torch::cat(oy), plan.augment.ox = torch::cat(ox);
  if (!flip.empty()) plan.augment.flip = torch::cat(flip);
  plan.augment = plan.augment.to(device);
  return plan;
}

void EpochPlan::copy_from(const EpochPlan& other) {
  auto copy = [](torch::Tensor& dst, const torch::Tensor& src) {
    if (dst.defined()) dst.copy_(src, /*non_blocking=*/true);
    else dst = src.clone();
  };
  copy(positions, other.positions);
  copy(order, other.order);
  if (other.augment.oy.defined()) copy(augment.oy, other.augment.oy), copy(augment.ox, other.augment.ox);
  if (other.augment.flip.defined()) copy(augment.flip, other.augment.flip);
}

}  // namespace kdprune::train
