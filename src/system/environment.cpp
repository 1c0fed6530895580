#include "kdprune/system/environment.h"

#include <ATen/Context.h>
#include <torch/torch.h>
#include <torch/version.h>


#include "kdprune/build_config.h"
#include "kdprune/util/error.h"

namespace kdprune::system {

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
  for (int i = 0; i < e.cuda_devices; ++i) e.device_names.push_back("cuda:" + std::to_string(i));
  e.cudnn_available = e.cuda_available && torch::cuda::cudnn_is_available();
  e.cpu_threads = at::get_num_threads();
  return e;
}

nlohmann::json environment_json() {
  const Environment e = environment();
  return {{"torch", e.torch_version},
          {"cuda_built", e.cuda_built},
          {"cuda_available", e.cuda_available},
          {"cuda_devices", e.device_names},
          {"cudnn", e.cudnn_available},
          {"cpu_threads", e.cpu_threads}};
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
  if (threads > 0) at::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(static_cast<uint64_t>(seed));
}

}  // namespace kdprune::system
