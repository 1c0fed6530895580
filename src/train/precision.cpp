#include "kdprune/train/precision.h"

#include <ATen/autocast_mode.h>
#include <ATen/cpu/Utils.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>

#include "kdprune/util/error.h"

namespace kdprune::train {

bool onednn_isa_allows_bf16(const char* max_cpu_isa) {
  if (!max_cpu_isa || !*max_cpu_isa) return true;
  std::string isa(max_cpu_isa);
  std::transform(isa.begin(), isa.end(), isa.begin(), [](unsigned char c) { return std::toupper(c); });
  // oneDNN's ISAs below AVX512_CORE_BF16, by the names of its dnnl_cpu_isa_t (oneDNN's
  // dnnl_types.h: sse41 0x1 ... avx512_core_vnni 0x67 < avx512_core_bf16 0xe7); AVX2_VNNI_2
  // converts bf16 but its convolutions do not run in bf16 there.
  static const std::set<std::string> below{"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"};
  return !below.count(isa);
}

bool cpu_has_native_bf16() {
  static const bool native = [] {
    const auto caps = at::cpu::get_cpu_capabilities();
    auto has = [&](const char* name) {
      const auto it = caps.find(name);
      return it != caps.end() && it->second.isBool() && it->second.toBool();
    };
    const char* cap = std::getenv("ONEDNN_MAX_CPU_ISA");
    if (!cap) cap = std::getenv("DNNL_MAX_CPU_ISA");  // its older name
    return (has("avx512_bf16") || has("amx_bf16")) && onednn_isa_allows_bf16(cap);
  }();
  return native;
}

std::string emulated_bf16_note(const Amp& amp, const torch::Device& device, bool native_bf16) {
  if (amp != AmpSetting::bf16 || !device.is_cpu() || native_bf16) return "";
  return "train.amp=bf16 on a CPU without native bf16 (AVX512-BF16 or AMX-BF16): bf16 is emulated, and training "
         "ran up to 1.7x slower than fp32 with AVX-512 alone and 6-9x slower with AVX2 (bench/README.md); "
         "train.amp=auto (the default) trains in fp32 on this CPU";
}

Autocast autocast_of(const Amp& amp) {
  switch (amp.value()) {
    case AmpSetting::off: return Autocast::off;
    case AmpSetting::bf16: return Autocast::bf16;
    case AmpSetting::fp16: return Autocast::fp16;
    case AmpSetting::automatic: break;
  }
  throw InternalError("train.amp=auto: not resolved for a device (train::resolved_precision)");
}

const char* autocast_name(Autocast a) {
  switch (a) {
    case Autocast::bf16: return "bf16";
    case Autocast::fp16: return "fp16";
    case Autocast::off: break;
  }
  return "off";
}

Precision resolved_precision(const TrainSection& t, const torch::Device& device) {
  if (const auto note = emulated_bf16_note(t.amp, device, cpu_has_native_bf16()); !note.empty()) {
    static std::once_flag once;
    std::call_once(once, [&] { spdlog::warn("{}", note); });
  }
  Precision p;
  if (t.amp == AmpSetting::automatic) p.amp = device.is_cpu() && cpu_has_native_bf16() ? Autocast::bf16 : Autocast::off;
  else p.amp = autocast_of(t.amp);
  // NHWC pays with reduced-precision convolutions (oneDNN, cuDNN tensor cores), not in fp32.
  if (t.channels_last == LayoutSetting::automatic) p.channels_last = p.amp != Autocast::off;
  else p.channels_last = t.channels_last == LayoutSetting::channels_last;
  return p;
}

void resolve_precision(TrainSection& t, const torch::Device& device) {
  const Precision p = resolved_precision(t, device);
  t.amp = Amp(autocast_name(p.amp));
  t.channels_last = p.channels_last ? LayoutSetting::channels_last : LayoutSetting::contiguous;
}

Precision precision_of(const TrainSection& t) { return {autocast_of(t.amp), channels_last_on(t)}; }

bool channels_last_on(const TrainSection& t) {
  if (t.channels_last == LayoutSetting::automatic)
    throw InternalError("train.channels_last=auto: not resolved for a device (train::resolved_precision)");
  return t.channels_last == LayoutSetting::channels_last;
}

AutocastScope::AutocastScope(const Amp& amp, const torch::Device& device) : AutocastScope(autocast_of(amp), device) {}

AutocastScope::AutocastScope(Autocast amp, const torch::Device& device) : type_(device.type()) {
  if (amp == Autocast::off) return;
  active_ = true;
  was_enabled_ = at::autocast::is_autocast_enabled(type_);
  old_dtype_ = at::autocast::get_autocast_dtype(type_);
  at::autocast::set_autocast_dtype(type_, amp == Autocast::bf16 ? at::kBFloat16 : at::kHalf);
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
