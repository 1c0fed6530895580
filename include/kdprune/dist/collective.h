#pragma once
// The collectives data-parallel training needs, on PyTorch's own distributed engine (c10d, shipped
// in libtorch): a process group over a TCPStore (rank 0 hosts it at MASTER_ADDR:MASTER_PORT) or
// over any c10d store (tests run ranks as threads over one HashStore). The backend is Gloo, which
// reduces CPU tensors and stages CUDA tensors through the host; NCCL is not built in (see
// docs/distributed.md). Every operation waits for its result; a failure (a rank that stopped, a
// timeout) is a kdprune::Error naming this rank and the operation, never a hang past the timeout.
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <vector>

#include "kdprune/dist/launch_env.h"

namespace kdprune::dist {

enum class Reduce { sum, min, max };

class Collective {
 public:
  static bool available();  // this build has c10d's Gloo backend
  // Joins a group over an existing store (one per group, shared by its ranks: a JobStore's). `ifnames`: the
  // network interfaces to bind, comma-separated (GLOO_SOCKET_IFNAME); "": the hostname's address.
  static std::unique_ptr<Collective> over_store(const c10::intrusive_ptr<c10d::Store>& store, int64_t rank, int64_t world,
                                                std::chrono::milliseconds timeout, const std::string& ifnames = "");
  // An in-process store for ranks run as threads (tests).
  static c10::intrusive_ptr<c10d::Store> local_store();
  ~Collective();

  int64_t rank() const { return rank_; }
  int64_t world() const { return world_; }

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

  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::Backend> backend_;
  int64_t rank_ = 0, world_ = 1;
  std::chrono::milliseconds timeout_;
};

}  // namespace kdprune::dist
