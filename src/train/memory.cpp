#include "kdprune/train/memory.h"

#include <malloc.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "kdprune/config/config.h"
#include "kdprune/train/precision.h"
#include "kdprune/util/error.h"

#if KDPRUNE_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

namespace kdprune::train {
namespace {

// Bytes in use now, and the peak since the last reset (CUDA only; the CPU has no peak to read).
struct Usage {
  int64_t current = 0, peak = 0;
};
Usage usage(const torch::Device& device, bool reset_peak = false) {
#if KDPRUNE_WITH_CUDA
  if (device.is_cuda()) {
    const auto index = device.index() < 0 ? c10::cuda::current_device() : device.index();
    if (reset_peak) c10::cuda::CUDACachingAllocator::resetPeakStats(index);
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
    const auto& all = stats.allocated_bytes[0];  // the aggregate over both pools
    return {all.current, all.peak};
  }
#else
  (void)reset_peak;
#endif
  if (device.is_cuda()) throw Error("training_memory_bytes: this kdprune was built without CUDA");
  const struct mallinfo2 m = mallinfo2();
  const auto in_use = static_cast<int64_t>(m.uordblks + m.hblkhd);
  return {in_use, in_use};
}

}  // namespace

int64_t training_memory_bytes(const std::string& arch, const models::ModelSpec& spec, const std::vector<int64_t>& input,
                              int64_t batch, const Amp& amp, bool channels_last, const torch::Device& device) {
  // A fresh model draws its initial weights from the global generator, and dropout (WRN) from the
  // device's: put their states back after.
  auto gen = at::detail::getDefaultCPUGenerator();
  const auto rng = gen.get_state();
  std::optional<at::Generator> device_gen;
  torch::Tensor device_rng;
  if (device.is_cuda()) {
    device_gen = at::globalContext().defaultGenerator(device);
    device_rng = device_gen->get_state();
  }
  int64_t weights = 0, held = 0;
  {
    auto model = models::create_model(arch, spec);
    model->to(device);
    model->train();
    for (const auto& p : model->parameters()) weights += p.numel() * static_cast<int64_t>(p.element_size());
    std::vector<int64_t> shape = {batch};
    shape.insert(shape.end(), input.begin(), input.end());
    auto x = torch::zeros(shape, torch::TensorOptions().device(device));
    if (channels_last) {
      x = x.contiguous(at::MemoryFormat::ChannelsLast);
      to_channels_last(*model);
    }
    if (device.is_cuda()) {
      // An unmeasured pass first: cuDNN's search (benchmark mode) borrows large workspaces, which
      // training pays once, not per student; the measured pass below runs on the plans it found.
      torch::Tensor warm;
      {
        AutocastScope autocast(amp, device);
        warm = model->forward_all(x).logits.to(torch::kFloat32).logsumexp(1).mean();
      }
      warm.backward();
      for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
    }
    const Usage before = usage(device, /*reset_peak=*/true);
    torch::Tensor loss;
    Usage forward;
    {
      AutocastScope autocast(amp, device);
      loss = model->forward_all(x).logits.to(torch::kFloat32).logsumexp(1).mean();
      forward = usage(device);
    }
    loss.backward();
    const Usage after = usage(device);
    // The graph's saved tensors at the end of forward, the gradients after backward; on CUDA the peak.
    held = std::max({forward.current, after.current, after.peak}) - before.current;
  }
  gen.set_state(rng);
  if (device_gen) device_gen->set_state(device_rng);
  // Weights, gradients (counted in `held`) and momentum; a margin for the captured graph's pool and
  // the allocator's rounding.
  return static_cast<int64_t>(1.25 * static_cast<double>(std::max<int64_t>(held, 0) + 2 * weights));
}

int64_t group_memory_budget(const std::string& group_max, const torch::Device& device) {
  if (group_max != "auto") {
    const int64_t b = parse_memory_size(group_max);
    if (b <= 0) throw Error("train.group_max='" + group_max + "': expected auto or a memory size such as 512MiB or 40GiB");
    return b;
  }
#if KDPRUNE_WITH_CUDA
  if (device.is_cuda()) {
    c10::cuda::CUDAGuard guard(device.index() < 0 ? c10::cuda::current_device() : device.index());
    size_t free = 0, total = 0;
    if (cudaMemGetInfo(&free, &total) != cudaSuccess) throw Error("train.group_max=auto: cannot read the GPU's free memory");
    // Memory the caching allocator holds but does not use is free for the group too.
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(c10::cuda::current_device());
    const int64_t cached = stats.reserved_bytes[0].current - stats.allocated_bytes[0].current;
    return static_cast<int64_t>(0.9 * static_cast<double>(static_cast<int64_t>(free) + cached));
  }
#endif
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line))
    if (line.rfind("MemAvailable:", 0) == 0) {
      std::istringstream in(line.substr(13));
      int64_t kib = 0;
      in >> kib;
      return static_cast<int64_t>(0.9 * static_cast<double>(kib) * 1024.0);
    }
  return int64_t{1} << 40;  // no meminfo (not Linux): no limit in practice
}

std::vector<std::vector<size_t>> pack_by_memory(const std::vector<int64_t>& bytes, int64_t budget, const std::string& what) {
  std::vector<std::vector<size_t>> chunks;
  int64_t used = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] > budget)
      throw Error(what + ": one student needs about " + memory_text(bytes[i]) + " to train, more than the budget of " +
                  memory_text(budget) + " (raise it, or lower train.batch_size)");
    if (chunks.empty() || used + bytes[i] > budget) chunks.emplace_back(), used = 0;
    chunks.back().push_back(i);
    used += bytes[i];
  }
  return chunks;
}

std::string memory_text(int64_t bytes) {
  const double b = static_cast<double>(bytes);
  char out[32];
  if (b >= 0x1p30) std::snprintf(out, sizeof out, "%.1f GiB", b / 0x1p30);
  else if (b >= 0x1p20) std::snprintf(out, sizeof out, "%.0f MiB", b / 0x1p20);
  else std::snprintf(out, sizeof out, "%.0f KiB", b / 0x1p10);
  return out;
}

}  // namespace kdprune::train
