#pragma once
// The data-parallel job's key-value store (c10d's TCPStore: rank 0 serves it, or torchrun's agent
// does), joined before the ranks load their data. Loading can fail on one rank alone (a per-node
// data copy with a missing file); that rank says so in the store, and the others, waiting for
// every rank to be ready, stop at once naming it instead of waiting out the timeout. The process
// group (Collective::over_store) is then set up over the same store.
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "kdprune/dist/launch_env.h"

namespace kdprune::dist {

class JobStore {
 public:
  // Connects to the job `env` describes; rank 0 (without torchrun's agent) starts the store and
  // waits up to `timeout` for every rank to connect.
  static std::shared_ptr<JobStore> connect(const LaunchEnv& env, std::chrono::milliseconds timeout);
  // Over an existing store (tests: an in-process one).
  // `serves`: this process holds the store's server (rank 0 without torchrun's agent), which ends
  // with it.
  JobStore(c10::intrusive_ptr<c10d::Store> store, int64_t rank, int64_t world, std::chrono::milliseconds timeout,
           std::string where = "", bool serves = false);

  const c10::intrusive_ptr<c10d::Store>& store() const { return store_; }
  int64_t rank() const { return rank_; }
  int64_t world() const { return world_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  // This rank is ready (`what`, e.g. "loaded its data"); returns once every rank is. Throws
  // kdprune::Error naming the rank that reported a failure, the ranks still missing after the
  // timeout, or a store that went away (rank 0 stopped).
  void wait_all_ready(const std::string& what);
  // Tells the other ranks that this one stops, with its one-line reason (the first report stays).
  // The store's server then waits (up to 3 s) for the waiting ranks to have read it before its
  // process ends. Never throws: it runs on the way out of an error.
  void report_failure(const std::string& message) noexcept;

 private:
  c10::intrusive_ptr<c10d::Store> store_;
  int64_t rank_, world_;
  std::chrono::milliseconds timeout_;
  std::string where_;  // "addr:port" for messages
  bool serves_;
};

}  // namespace kdprune::dist
