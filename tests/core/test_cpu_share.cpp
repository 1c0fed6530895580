// The thread governor against real load: busy child processes on all cores but one must bring a
// training down to one thread within a few seconds, and the configured count comes back after.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ATen/Parallel.h>

#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "kdprune/system/cpu_share.h"

namespace {
// `n` processes that spin until killed (SIGKILL): a machine busy with other work.
std::vector<pid_t> busy_processes(int64_t n) {
  std::vector<pid_t> pids;
  for (int64_t i = 0; i < n; ++i) {
    const pid_t p = fork();
    if (p == 0)
      for (volatile uint64_t x = 0;; ++x) {
      }
    pids.push_back(p);
  }
  return pids;
}
}  // namespace

TEST(ThreadGovernor, FollowsTheFreeCores) {
  const int64_t cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 2) GTEST_SKIP() << "needs two cores";
  const int before = at::get_num_threads();
  at::set_num_threads(static_cast<int>(cpus));
  const std::vector<pid_t> hogs = busy_processes(cpus - 1);
  {
    kdprune::system::ThreadGovernor g(cpus, true);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(8);
    while (g.threads() != 1 && std::chrono::steady_clock::now() < end) {
      g.tick();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (pid_t p : hogs) kill(p, SIGKILL);
    for (pid_t p : hogs) waitpid(p, nullptr, 0);
    EXPECT_EQ(g.threads(), 1) << cpus - 1 << " busy processes on " << cpus << " cores";
    EXPECT_EQ(at::get_num_threads(), 1);
  }
  EXPECT_EQ(at::get_num_threads(), cpus) << "the configured count is restored when training ends";
  kdprune::system::ThreadGovernor off(cpus, false);
  off.tick();
  EXPECT_EQ(off.threads(), cpus);
  at::set_num_threads(before);
}

// With a fixed count (the default), the governor only advises: beside busy processes it warns once
// and leaves the thread count as it is, so the weights stay the same.
TEST(ThreadGovernor, AFixedCountIsKeptAndTheBusyMachineNamed) {
  const int64_t cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 2) GTEST_SKIP() << "needs two cores";
  if (std::getenv("OMP_WAIT_POLICY")) GTEST_SKIP() << "OMP_WAIT_POLICY is set: nothing to advise";
  const int before = at::get_num_threads();
  at::set_num_threads(static_cast<int>(cpus));
  const std::vector<pid_t> hogs = busy_processes(cpus - 1);
  kdprune::system::ThreadGovernor g(cpus, false, true);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!g.advised() && std::chrono::steady_clock::now() < end) {
    g.tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (pid_t p : hogs) kill(p, SIGKILL);
  for (pid_t p : hogs) waitpid(p, nullptr, 0);
  EXPECT_TRUE(g.advised()) << cpus - 1 << " busy processes on " << cpus << " cores";
  EXPECT_EQ(g.threads(), cpus);
  EXPECT_EQ(at::get_num_threads(), cpus) << "the fixed count changed";
  at::set_num_threads(before);
}
