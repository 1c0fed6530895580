#pragma once
// The collectives data-parallel training needs, on PyTorch's own distributed engine (c10d, shipped
// in libtorch): a process group over a TCPStore (rank 0 hosts it at MASTER_ADDR:MASTER_PORT) or
// over any c10d store (tests run ranks as threads over one HashStore). CPU tensors reduce over Gloo;
// CUDA tensors over NCCL where the group has it (GroupOptions::nccl_device, train.dist_backend),
// else over Gloo, which stages them through the host (torch.distributed's "cpu:gloo,cuda:nccl").
// Every operation waits for its result. Over Gloo a failure (a rank that stopped, a timeout) is a
// kdprune::Error naming this rank and the operation, never a hang past the timeout. Over NCCL the
// wait is the device stream's, not the host's: a rank that stopped shows as NCCL's watchdog ending
// this process once the timeout has passed (torch's message), at the latest.
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kdprune/dist/launch_env.h"

namespace kdprune::dist {

enum class Reduce { sum, min, max };

struct GroupOptions {
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
  // The network interfaces Gloo binds, comma-separated (GLOO_SOCKET_IFNAME); "": the hostname's address.
  std::string ifnames;
  // Set: CUDA tensors reduce over NCCL, this rank's communicator on this GPU (one GPU per rank);
  // the same as use_nccl(device) once the group has formed.
  std::optional<torch::Device> nccl_device;
  // A group of one runs its collectives too (normally they are skipped): the only NCCL group a
  // one-GPU machine can form, for tests.
  bool reduce_alone = false;
};

class Collective {
 public:
  static bool available();       // this build has c10d's Gloo backend
  static bool nccl_available();  // ... and c10d's NCCL backend (a CUDA torch and its nccl.h)
  // Joins a group over an existing store (one per group, shared by its ranks: a JobStore's).
  static std::unique_ptr<Collective> over_store(const c10::intrusive_ptr<c10d::Store>& store, int64_t rank, int64_t world,
                                                const GroupOptions& options);
  static std::unique_ptr<Collective> over_store(const c10::intrusive_ptr<c10d::Store>& store, int64_t rank, int64_t world,
                                                std::chrono::milliseconds timeout, const std::string& ifnames = "") {
    GroupOptions options;
    options.timeout = timeout, options.ifnames = ifnames;
    return over_store(store, rank, world, options);
  }
  // An in-process store for ranks run as threads (tests).
  static c10::intrusive_ptr<c10d::Store> local_store();
  ~Collective();

  int64_t rank() const { return rank_; }
  int64_t world() const { return world_; }
  // Nothing to exchange: a group of one that skips its collectives (not GroupOptions::reduce_alone).
  bool alone() const { return world_ == 1 && !reduce_alone_; }
  // From now on CUDA tensors reduce over NCCL, this rank's communicator formed now on `device`
  // (every rank at the same point; after the ranks have checked they run the same job, so ranks
  // that differ in train.dist_backend stop at that check, not inside NCCL's setup).
  void use_nccl(const torch::Device& device);
  // Collectives this rank has started (tests: a path really went through the group).
  int64_t operations() const { return operations_.load(); }
  // The backend that reduces tensors on `device`: "gloo" or "nccl".
  std::string backend_name(const torch::Device& device) const;

  // In place, element-wise over ranks; tensors of any shapes and sizes (flattened into one buffer
  // per dtype and device).
  void allreduce(const std::vector<torch::Tensor>& tensors, Reduce op = Reduce::sum);
  // The sum over ranks of one contiguous tensor, in place, started now and finished by wait():
  // gradient buckets reduce this way while backward goes on (GradReducer). Every rank must start
  // the same reductions in the same order.
  using Work = c10::intrusive_ptr<c10d::Work>;
  Work start_allreduce(const torch::Tensor& flat);
  void wait(const Work& work);  // throws as allreduce does
  // Every rank's tensors become root's, in place.
  void broadcast(const std::vector<torch::Tensor>& tensors, int64_t root = 0);
  void barrier();
  // root's string on every rank.
  std::string broadcast_string(const std::string& s, int64_t root = 0);

 private:
  Collective(c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<c10d::Backend> backend, int64_t rank, int64_t world,
             std::chrono::milliseconds timeout);
  [[noreturn]] void fail(const std::string& op, const std::exception& e) const;
  void wait_for(const Work& work) const;  // throws the backend's error
  const c10::intrusive_ptr<c10d::Backend>& backend_for(const torch::Device& device) const {
    return device.is_cuda() && cuda_backend_ ? cuda_backend_ : backend_;
  }

  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::Backend> backend_;       // Gloo: CPU tensors, the host's values, barriers
  c10::intrusive_ptr<c10d::Backend> cuda_backend_;  // NCCL, where the group has it
  int64_t rank_ = 0, world_ = 1;
  bool reduce_alone_ = false;
  std::atomic<int64_t> operations_{0};  // started from backward's hooks too
  std::chrono::milliseconds timeout_;
};

}  // namespace kdprune::dist
