#pragma once
// What kdprune runs on: LibTorch version, CUDA/cuDNN availability and devices, and the device a
// config's run.device resolves to. Torch-free interface.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kdprune::system {

struct Environment {
  std::string torch_version;
  bool cuda_built = false;      // LibTorch has CUDA kernels
  bool cuda_available = false;  // ... and a GPU is present
  int cuda_devices = 0;
  std::vector<std::string> device_names;
  bool cudnn_available = false;
  int64_t cpu_threads = 0;
  std::string openmp_wait;  // GOMP_SPINCOUNT / OMP_WAIT_POLICY as the process runs with them
};

Environment environment();
nlohmann::json environment_json();

// Resolves run.device (auto|cpu|cuda|cuda:N) to a concrete device string ("cpu", "cuda:0"...).
// Throws kdprune::Error if CUDA is asked for but absent, or the index is out of range.
std::string resolve_device(const std::string& spec);

// Applies run.threads (0 = leave LibTorch's default), seeds LibTorch's global generators, and turns
// cuDNN's benchmark mode on (before the first convolution: a shape's first plan is kept).
void configure_runtime(int64_t threads, int64_t seed);

}  // namespace kdprune::system
