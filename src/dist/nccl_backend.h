#pragma once
// c10d's ProcessGroupNCCL behind a plain interface, in a translation unit of its own: only it is
// compiled with USE_C10D_NCCL and the nccl.h of the torch wheel's own NCCL (nvidia/nccl/include),
// so the class layout it allocates is the one libtorch_cuda was built with. Builds without it
// (no CUDA torch, no nccl.h, KDPRUNE_WITH_NCCL=OFF) get stubs that say so.
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <cstdint>

namespace kdprune::dist {

bool nccl_built();
// A group of `world` NCCL ranks over `store` (its keys under a prefix of their own), this rank's
// communicator set up now on `device` (a failure, e.g. two ranks on one GPU, is an Error here,
// not at the first gradient bucket). Collectives run on NCCL's own stream, ordered after the work
// already queued on `device`'s current stream, and wait() orders that stream after them: the host
// is not blocked. A rank that stops makes the others' NCCL watchdog end them after `timeout`.
c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int64_t rank,
                                                    int64_t world, std::chrono::milliseconds timeout,
                                                    const c10::Device& device);
// Whether `work` is an NCCL collective's: its wait() is the device stream's, and NCCL's watchdog
// keeps its timeout (c10d's WorkNCCL::wait(timeout) would hold the host until it ends).
bool is_nccl_work(const c10d::Work& work);
// Tears the communicators down (torch.distributed.destroy_process_group's part for NCCL); `abort`:
// without waiting for collectives in flight (unwinding from an error, a peer may be gone).
void shutdown_nccl_backend(c10d::Backend& backend, bool abort = false) noexcept;

}  // namespace kdprune::dist
