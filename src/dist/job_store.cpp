#include "kdprune/dist/job_store.h"

#include <netdb.h>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <thread>
#include <vector>

#include "kdprune/util/error.h"

namespace kdprune::dist {
namespace {
const std::string kFailed = "/kdprune/failed";
const std::string kFailureRead = "/kdprune/failure_read";  // ranks that have read the report
std::string ready_key(int64_t rank) { return "/kdprune/ready/" + std::to_string(rank); }
std::string one_line(const std::string& s) { return s.substr(0, std::min<size_t>(s.find('\n'), 300)); }
std::string duration_text(std::chrono::milliseconds t) {
  return t.count() % 1000 == 0 ? std::to_string(t.count() / 1000) + " s" : std::to_string(t.count()) + " ms";
}
}  // namespace

std::shared_ptr<JobStore> JobStore::connect(const LaunchEnv& env, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(env.master_port);
  o.isServer = env.rank == 0 && !env.agent_store;  // torchrun's agent serves it already
  o.numWorkers = static_cast<size_t>(env.world);
  o.waitWorkers = true;
  o.timeout = timeout;
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  // An address that does not resolve would have c10d retry (and print a warning) until the join
  // timeout, minutes later: said now, in one line.
  addrinfo* found = nullptr;
  if (getaddrinfo(env.master_addr.c_str(), nullptr, nullptr, &found) != 0)
    throw Error("rank " + std::to_string(env.rank) + " of " + std::to_string(env.world) + ": MASTER_ADDR '" +
                env.master_addr + "' does not resolve to an address (a typo, or a host name this node does not know)");
  freeaddrinfo(found);
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(env.rank) + " of " + std::to_string(env.world) + ": cannot join the job at " + where +
                " (MASTER_ADDR:MASTER_PORT): " + one_line(e.what()));
  }
  // Under torchrun's agent store, this restart's keys apart from earlier attempts' and the agent's.
  if (env.agent_store)
    store = c10::make_intrusive<c10d::PrefixStore>("/kdprune/attempt_" + std::to_string(env.restart_count), store);
  return std::make_shared<JobStore>(store, env.rank, env.world, timeout, where, o.isServer);
}

JobStore::JobStore(c10::intrusive_ptr<c10d::Store> store, int64_t rank, int64_t world, std::chrono::milliseconds timeout,
                   std::string where, bool serves)
    : store_(std::move(store)), rank_(rank), world_(world), timeout_(timeout), where_(std::move(where)), serves_(serves) {}

void JobStore::wait_all_ready(const std::string& what) {
  const std::string me = "rank " + std::to_string(rank_) + " of " + std::to_string(world_);
  std::vector<std::string> keys;
  for (int64_t r = 0; r < world_; ++r) keys.push_back(ready_key(r));
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  try {
    store_->set(ready_key(rank_), std::vector<uint8_t>{'1'});
    // Polled: a blocking wait would not see another rank's failure until the timeout.
    for (auto pause = std::chrono::milliseconds(5);; pause = std::min(pause * 2, std::chrono::milliseconds(100))) {
      if (store_->check({kFailed})) {
        const auto why = store_->get(kFailed);
        store_->add(kFailureRead, 1);  // the reporter's process may be holding the store for us
        throw Error("data-parallel: " + std::string(why.begin(), why.end()) + "; " + me + " stops too");
      }
      if (store_->check(keys)) return;
      if (std::chrono::steady_clock::now() > deadline) {
        std::string missing;
        for (int64_t r = 0; r < world_; ++r)
          if (!store_->check({ready_key(r)})) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
        throw Error("data-parallel: " + me + ": rank(s) " + missing + " had not " + what + " after " +
                    duration_text(timeout_) + " (KDPRUNE_DIST_TIMEOUT)");
      }
      std::this_thread::sleep_for(pause);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("data-parallel: " + me + ": lost the job's store" + (where_.empty() ? "" : " at " + where_) +
                " while waiting for every rank to have " + what + " (rank 0 stopped?): " + one_line(e.what()));
  }
}

void JobStore::report_failure(const std::string& message) noexcept {
  try {
    const std::string text = "rank " + std::to_string(rank_) + " failed: " + one_line(message);
    store_->compareSet(kFailed, {}, std::vector<uint8_t>(text.begin(), text.end()));  // the first report stays
    if (!serves_) return;
    // The store ends with this process: give the others, polling every 100 ms, time to read it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (store_->add(kFailureRead, 0) < world_ - 1 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } catch (...) {  // the store is gone: the others learn of it from that
  }
}

}  // namespace kdprune::dist
