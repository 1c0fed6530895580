#pragma once
// How many students fit in memory together (train.group_max): one student's training memory,
// measured on its device with one step, and the memory a group may take.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "kdprune/models/model.h"
#include "kdprune/train/precision.h"

namespace kdprune::train {

// The memory one model's training takes beyond the data and the teacher: its weights, gradients
// and momentum, and what one forward and backward at `batch` hold (activations, workspaces),
// measured on a fresh model of `arch` on a zero batch of (C, H, W) = `input`, in train mode, with
// `amp` and the layout. The global RNG is left as it was. On CUDA from the caching allocator's peak,
// elsewhere from the heap's bytes in use (glibc's mallinfo2).
int64_t training_memory_bytes(const std::string& arch, const models::ModelSpec& spec, const std::vector<int64_t>& input,
                              int64_t batch, const Amp& amp, bool channels_last, const torch::Device& device);

// The memory a group may take: `group_max` (a size), or auto: 90 % of what the device has free
// now (CUDA: cudaMemGetInfo; CPU: MemAvailable of /proc/meminfo).
int64_t group_memory_budget(const std::string& group_max, const torch::Device& device);

// Consecutive chunks of `bytes` (each student's need, in order) whose sums fit `budget`; a student
// that alone exceeds it is an Error naming the budget (`what`, e.g. "train.group_max=1GiB").
std::vector<std::vector<size_t>> pack_by_memory(const std::vector<int64_t>& bytes, int64_t budget, const std::string& what);

std::string memory_text(int64_t bytes);  // e.g. "1.5 GiB", "340 MiB"

}  // namespace kdprune::train
