#include "nccl_backend.h"

#include <spdlog/spdlog.h>

#include <string>

#include "kdprune/util/error.h"

#if KDPRUNE_WITH_NCCL
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace kdprune::dist {

#if KDPRUNE_WITH_NCCL

bool nccl_built() { return true; }

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int64_t rank,
                                                    int64_t world, std::chrono::milliseconds timeout,
                                                    const c10::Device& device) {
  const std::string where = "rank " + std::to_string(rank) + " of " + std::to_string(world);
  if (!device.is_cuda() || !device.has_index())
    throw Error(where + ": NCCL needs this rank's GPU (cuda:<index>), got " + device.str());
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  // The Gloo group of the same job uses the store's plain keys; NCCL's unique-id exchange its own.
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("kdprune-nccl/", store);
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> pg;
  try {
    pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, static_cast<int>(rank), static_cast<int>(world), options);
    // torch.distributed.init_process_group(device_id=...): the communicator forms now, on this GPU.
    pg->setBoundDeviceId(device);
    pg->eagerConnectSingleDevice(device);
    spdlog::info("{}: NCCL {} communicator on {}", where, c10d::getNcclVersion(), device.str());
    return pg;
  } catch (const std::exception& e) {
    // What its destructor would do anyway, without torch's warning that destroy_process_group()
    // was not called.
    if (pg) shutdown_nccl_backend(*pg);
    std::string msg = e.what();
    msg = msg.substr(0, msg.find('\n')).substr(0, 240);
    throw Error(where + ": cannot set up NCCL on " + device.str() + " (every rank needs a GPU of its own; " +
                "train.dist_backend=gloo shares one): " + msg);
  }
}

bool is_nccl_work(const c10d::Work& work) {
  return dynamic_cast<const c10d::ProcessGroupNCCL::WorkNCCL*>(&work) != nullptr;
}

void shutdown_nccl_backend(c10d::Backend& backend, bool abort) noexcept {
  try {
    auto& pg = static_cast<c10d::ProcessGroupNCCL&>(backend);
    if (abort)
      pg.abort();
    else
      pg.shutdown();
  } catch (const std::exception& e) {
    spdlog::warn("NCCL shutdown: {}", e.what());
  }
}

#else

bool nccl_built() { return false; }

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>&, int64_t, int64_t,
                                                    std::chrono::milliseconds, const c10::Device&) {
  throw Error("train.dist_backend=nccl: this kdprune was built without NCCL (it needs a CUDA torch and the nccl.h of "
              "its nvidia-nccl wheel; docs/distributed.md)");
}

bool is_nccl_work(const c10d::Work&) { return false; }

void shutdown_nccl_backend(c10d::Backend&, bool) noexcept {}

#endif

}  // namespace kdprune::dist
