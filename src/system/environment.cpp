#include "kdprune/system/environment.h"

#include <cstdlib>

#include <ATen/Context.h>
#include <dlfcn.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>
#include <torch/torch.h>
#include <torch/version.h>


#include "kdprune/build_config.h"
#include "kdprune/util/error.h"

namespace kdprune::system {
namespace {
// The GPU's marketing name via the CUDA runtime that libtorch_cuda already loaded; looked up at
// run time so the build needs no CUDA headers. cudaDeviceProp starts with `char name[256]`.
std::string cuda_device_name(int index) {
  using GetProps = int (*)(void*, int);
  auto fn = reinterpret_cast<GetProps>(dlsym(RTLD_DEFAULT, "cudaGetDeviceProperties"));
  if (!fn) fn = reinterpret_cast<GetProps>(dlsym(RTLD_DEFAULT, "cudaGetDeviceProperties_v2"));
  if (!fn) return "(name unavailable)";
  std::vector<char> props(16384, 0);  // larger than any cudaDeviceProp
  if (fn(props.data(), index) != 0) return "(name unavailable)";
  return std::string(props.data(), strnlen(props.data(), 256));
}
}  // namespace

Environment environment() {
  Environment e;
  e.torch_version = TORCH_VERSION;
  #if KDPRUNE_TORCH_CUDA
  e.cuda_built = true;  // libtorch_cuda is linked; whether a GPU is present is cuda_available
#else
  e.cuda_built = torch::cuda::is_available();
#endif
  e.cuda_available = torch::cuda::is_available();
  e.cuda_devices = e.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
  for (int i = 0; i < e.cuda_devices; ++i) e.device_names.push_back("cuda:" + std::to_string(i) + " " + cuda_device_name(i));
  e.cudnn_available = e.cuda_available && torch::cuda::cudnn_is_available();
  e.cpu_threads = at::get_num_threads();
  const char* spin = std::getenv("GOMP_SPINCOUNT");
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  e.openmp_wait = policy ? std::string("OMP_WAIT_POLICY=") + policy
                  : spin ? std::string("GOMP_SPINCOUNT=") + spin
                         : std::string("OpenMP default");
  return e;
}

nlohmann::json environment_json() {
  const Environment e = environment();
  return {{"torch", e.torch_version},
          {"cuda_built", e.cuda_built},
          {"cuda_available", e.cuda_available},
          {"cuda_devices", e.device_names},
          {"cudnn", e.cudnn_available},
          {"cpu_threads", e.cpu_threads},
          {"openmp_wait", e.openmp_wait}};
}

std::string resolve_device(const std::string& spec) {
  if (spec == "cpu") return "cpu";
  const bool cuda = torch::cuda::is_available();
  if (spec == "auto") return cuda ? "cuda:0" : "cpu";
  if (!cuda) throw Error("run.device=" + spec + ": CUDA is not available here (no GPU, or a CPU-only LibTorch); use run.device=cpu or auto");
  if (spec == "cuda") return "cuda:0";
  const int index = std::stoi(spec.substr(5));
  const int count = static_cast<int>(torch::cuda::device_count());
  if (index >= count)
    throw Error("run.device=" + spec + ": only " + std::to_string(count) + " CUDA device(s) present");
  return spec;
}

void configure_runtime(int64_t threads, int64_t seed) {
  // More threads than 4 per core only oversubscribe (each also costs a stack): refused before
  // any is made, where 100,000 of them exhausted memory.
  const int64_t cores = std::max<int64_t>(1, static_cast<int64_t>(std::thread::hardware_concurrency()));
  if (threads > 4 * cores)
    throw Error("run.threads=" + std::to_string(threads) + ": expected at most 4 per core (" + std::to_string(4 * cores) +
                " on this machine's " + std::to_string(cores) + " cores); 0 = the library default");
  if (threads > 0) at::set_num_threads(static_cast<int>(threads));
  // cuDNN's benchmark mode before any convolution runs: ATen caches one plan per convolution shape
  // (per thread) whatever the flag, and looks in that cache before the flag (Conv_v8.cpp,
  // run_single_conv). A shape first run unsearched (the memory probe, the teacher's evaluation)
  // kept cuDNN's guess for the whole process, the training steps that came after included.
  at::globalContext().setBenchmarkCuDNN(true);
  torch::manual_seed(static_cast<uint64_t>(seed));
}

}  // namespace kdprune::system
