#pragma once
// Training beside other work on few cores. LibTorch's OpenMP threads spin at every barrier; when
// another process holds one of the cores, a run's threads spin waiting for a descheduled sibling
// and the run collapses (two 2-thread runs on 2 cores: 6-40 % of solo each; beside one busy
// process: 12 %; bench/cpu_sharing.sh). Sleeping sooner (GOMP_SPINCOUNT, OMP_WAIT_POLICY) avoids
// that but costs 10-60 % alone on this kind of machine. So the thread count follows the free
// cores instead: every second the governor measures how much CPU the rest of the machine used
// (/proc/stat minus this process's own time) and trains on the cores left, between 1 and the
// configured count: fewer at once, more after two checks agree. The thread count changes how
// oneDNN's reductions round, so that mode's weights depend on the load: it is opt-in
// (run.adapt_threads=true). The default keeps the count fixed and instead chooses OpenMP's
// waiting when the process starts (choose_openmp_wait): the wait policy changes no result.
#include <cstdint>

namespace kdprune::system {

// The cores other processes kept busy over the next `seconds` (from /proc/stat, less this
// process's own CPU time); 0 where /proc/stat cannot be read.
double other_processes_cores(double seconds);

// Called first thing in main: when other processes already keep a core busy and neither
// OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set, re-executes this binary with OMP_WAIT_POLICY=PASSIVE
// (OpenMP reads it only when it loads), so its fixed threads sleep instead of spinning on a
// shared core. On a quiet machine it returns at once and the threads spin, which is faster alone.
// Does nothing for `commands` other than those given (the ones that train).
void choose_openmp_wait(int argc, char** argv, const char* const* commands);

class ThreadGovernor {
 public:
  // `max_threads`: the configured intra-op thread count (the ceiling). Disabled: the count stays;
  // with `advise`, tick() then only warns once when other processes keep cores busy while this
  // run's threads spin (OpenMP's active waiting), naming what would share better.
  ThreadGovernor(int64_t max_threads, bool enabled, bool advise = false);
  ~ThreadGovernor();  // gives the process its configured thread count back
  ThreadGovernor(const ThreadGovernor&) = delete;
  ThreadGovernor& operator=(const ThreadGovernor&) = delete;
  // Call once per training step; cheap unless an interval has passed.
  void tick();
  int64_t threads() const { return current_; }
  bool advised() const { return advised_; }  // advise: the warning was given

  struct Sample {
    double wall = 0, busy = 0, own = 0;  // seconds: monotonic clock, all CPUs' non-idle time, this process's CPU time
  };
  static Sample sample();
  // The cores other processes kept busy between two samples.
  static double others_between(const Sample& a, const Sample& b);

 private:
  bool enabled_, advise_, advised_ = false;
  int busy_checks_ = 0;  // advise: consecutive checks that found other processes busy
  int64_t max_, current_, cpus_, pending_ = 0;
  Sample last_;
  double next_check_ = 0;
};

}  // namespace kdprune::system
