#include "kdprune/train/precision.h"

#include <ATen/autocast_mode.h>

namespace kdprune::train {

AutocastScope::AutocastScope(const std::string& amp, const torch::Device& device) : type_(device.type()) {
  if (amp == "off") return;
  active_ = true;
  was_enabled_ = at::autocast::is_autocast_enabled(type_);
  old_dtype_ = at::autocast::get_autocast_dtype(type_);
  at::autocast::set_autocast_dtype(type_, amp == "bf16" ? at::kBFloat16 : at::kHalf);
  at::autocast::set_autocast_enabled(type_, true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(type_, was_enabled_);
  at::autocast::set_autocast_dtype(type_, old_dtype_);
}

GradScaler::GradScaler(bool enabled, const torch::Device& device, double init_scale, int64_t growth_interval)
    : enabled_(enabled), growth_interval_(growth_interval) {
  scale_ = torch::full({}, init_scale, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  growth_tracker_ = torch::zeros({}, torch::TensorOptions().dtype(torch::kInt32).device(device));
}

bool GradScaler::step(torch::optim::Optimizer& opt) {
  if (!enabled_) {
    opt.step();
    return true;
  }
  std::vector<torch::Tensor> grads;
  for (auto& group : opt.param_groups())
    for (auto& p : group.params())
      if (p.grad().defined()) grads.push_back(p.grad());
  auto found_inf = torch::zeros({}, scale_.options());
  at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, scale_.reciprocal());
  const bool overflow = found_inf.item<float>() != 0.0f;  // one sync per step, as GradScaler
  if (!overflow) opt.step();
  at::_amp_update_scale_(scale_, growth_tracker_, found_inf, 2.0, 0.5, growth_interval_);
  return !overflow;
}

torch::Tensor GradScaler::state() const {
  return torch::stack({scale_.to(torch::kCPU, torch::kFloat64), growth_tracker_.to(torch::kCPU, torch::kFloat64)});
}

void GradScaler::load_state(const torch::Tensor& s) {
  scale_.fill_(s[0].item<double>());
  growth_tracker_.fill_(static_cast<int64_t>(s[1].item<double>()));
}

void to_channels_last(torch::nn::Module& module) {
  for (auto& p : module.parameters())
    if (p.dim() == 4) p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
}

}  // namespace kdprune::train
