#pragma once
// Mixed precision and layout: autocast for forward passes (bf16 or fp16) and, for fp16, dynamic loss scaling
// as torch.cuda.amp.GradScaler does it (skip a step whose gradients overflowed, halve the scale;
// double it after `growth_interval` clean steps).
#include <torch/torch.h>

#include <string>

#include "kdprune/config/config.h"

namespace kdprune::train {

// What a run trains in, made concrete for its device: never auto. The trainer is handed this
// value (fit_group resolves it once per run); TrainSection keeps what the user asked for.
enum class Autocast { off, bf16, fp16 };
struct Precision {
  Autocast amp = Autocast::off;
  bool channels_last = false;
  friend bool operator==(const Precision&, const Precision&) = default;
};
const char* autocast_name(Autocast a);  // off, bf16, fp16: train.amp's words
// train.amp as an autocast precision; auto is an InternalError (resolve it first).
Autocast autocast_of(const Amp& amp);

// train.amp=auto and train.channels_last=auto made concrete for `device` (explicit values stay):
// bf16 + channels-last where it was measured to train as accurately as fp32 and faster, the CPUs
// with native bf16 (bench/README.md "Precision and a grid in one process"); fp32 elsewhere, CUDA
// included (on an H200 bf16 fell below fp32's seed spread at f = 0.1: bench/README.md).
Precision resolved_precision(const TrainSection& t, const torch::Device& device);
// The same, written back into the section (a run's config.yaml records what it trained in).
void resolve_precision(TrainSection& t, const torch::Device& device);
// A section already resolved (InternalError where it is not).
Precision precision_of(const TrainSection& t);
// The CPU computes bf16 natively (AVX512-BF16 or AMX-BF16, as cpuinfo reports them to ATen), and
// oneDNN, which runs the convolutions, may use it (ONEDNN_MAX_CPU_ISA does not cap it below).
bool cpu_has_native_bf16();
// oneDNN's ISA cap (ONEDNN_MAX_CPU_ISA's value; null or "" = none) leaves it its bf16 instructions.
bool onednn_isa_allows_bf16(const char* max_cpu_isa);
// Why an explicit train.amp=bf16 is slow on `device` ("" where it is not): a CPU without native
// bf16 emulates it. resolved_precision logs this once per process.
std::string emulated_bf16_note(const Amp& amp, const torch::Device& device, bool native_bf16);
// train.channels_last after resolve_precision (InternalError while it is still auto).
bool channels_last_on(const TrainSection& t);

// Enables autocast for the device type for its lifetime (off does nothing).
class AutocastScope {
 public:
  AutocastScope(Autocast amp, const torch::Device& device);
  AutocastScope(const Amp& amp, const torch::Device& device);  // InternalError for auto
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  at::DeviceType type_;
  bool was_enabled_ = false;
  at::ScalarType old_dtype_;
};

// train.channels_last: stores the module's 4-D (conv) weights NHWC, in place.
void to_channels_last(torch::nn::Module& module);

class GradScaler {
 public:
  GradScaler(bool enabled, const torch::Device& device, double init_scale = 65536.0, int64_t growth_interval = 2000);
  bool enabled() const { return enabled_; }
  torch::Tensor scale(const torch::Tensor& loss) const { return enabled_ ? loss * scale_ : loss; }
  // Unscales the gradients, steps unless they hold inf/NaN, updates the scale. Returns whether the
  // optimizer stepped.
  bool step(torch::optim::Optimizer& opt);
  double current_scale() const { return enabled_ ? scale_.item<double>() : 1.0; }

  // For checkpoints.
  torch::Tensor state() const;  // [scale, growth_tracker] as float64
  void load_state(const torch::Tensor& s);

 private:
  bool enabled_;
  torch::Tensor scale_;           // float32 scalar on the device
  torch::Tensor growth_tracker_;  // int32 scalar on the device
  int64_t growth_interval_;
};

}  // namespace kdprune::train
