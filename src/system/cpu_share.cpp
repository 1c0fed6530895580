#include "kdprune/system/cpu_share.h"

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <strings.h>
#include <thread>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

namespace kdprune::system {
namespace {
constexpr double kFirstCheck = 0.5;  // seconds after the start: a run that starts beside another adapts soon
constexpr double kInterval = 1.0;    // seconds between later checks

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
}  // namespace

double other_processes_cores(double seconds) {
  const auto a = ThreadGovernor::sample();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const auto b = ThreadGovernor::sample();
  if (b.wall <= a.wall || b.busy <= 0) return 0.0;
  return ThreadGovernor::others_between(a, b);
}

void choose_openmp_wait(int argc, char** argv, const char* const* commands) {
  if (argc < 2 || std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT") || std::getenv("KDPRUNE_WAIT_CHOSEN"))
    return;
  bool trains = false;
  for (const char* const* c = commands; *c; ++c) trains = trains || std::strcmp(argv[1], *c) == 0;
  if (!trains) return;
  setenv("KDPRUNE_WAIT_CHOSEN", "1", 1);  // once: the re-executed process keeps what was chosen
  // Half a core or more in use elsewhere over 0.15 s: threads that spin would wait on it.
  if (other_processes_cores(0.15) < 0.5) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: go on with the spinning default
}

double ThreadGovernor::others_between(const Sample& a, const Sample& b) {
  // Our own spinning threads count as ours, so they do not push the estimate up.
  return std::max(0.0, (b.busy - a.busy) - (b.own - a.own)) / (b.wall - a.wall);
}

ThreadGovernor::Sample ThreadGovernor::sample() {
  Sample s;
  s.wall = now();
  // The first line of /proc/stat: jiffies of all CPUs in user nice system idle iowait irq softirq steal ...
  std::ifstream stat("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal && cpu == "cpu")
    s.busy = (user + nice + system + irq + softirq) / static_cast<double>(sysconf(_SC_CLK_TCK));
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  s.own = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
          static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
  return s;
}

ThreadGovernor::ThreadGovernor(int64_t max_threads, bool enabled, bool advise)
    : enabled_(enabled && max_threads > 1), max_(max_threads), current_(max_threads),
      cpus_(std::max<int64_t>(1, sysconf(_SC_NPROCESSORS_ONLN))) {
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  advise_ = !enabled_ && advise && max_threads > 1 && !(policy && strcasecmp(policy, "passive") == 0);
  if (!enabled_ && !advise_) return;
  last_ = sample();
  next_check_ = last_.wall + kFirstCheck;
}

ThreadGovernor::~ThreadGovernor() {
  if (enabled_ && current_ != max_) at::set_num_threads(static_cast<int>(max_));
}

void ThreadGovernor::tick() {
  if ((!enabled_ && !advise_) || now() < next_check_) return;
  const Sample s = sample();
  const double wall = s.wall - last_.wall;
  const double others = others_between(last_, s);  // cores the rest of the machine used
  if (advise_) {
    last_ = s;
    next_check_ = s.wall + kInterval;
    busy_checks_ = others >= 0.5 ? busy_checks_ + 1 : 0;
    if (busy_checks_ < 3) return;
    advise_ = false, advised_ = true;  // once
    spdlog::warn("CPU sharing: other processes use about {:.1f} of {} cores while this run's {} threads spin waiting "
                 "for each other, which can slow it several times (its weights do not depend on that). To share "
                 "better: start it with OMP_WAIT_POLICY=PASSIVE, give it fewer run.threads, or set "
                 "run.adapt_threads=true (whose weights do depend on the load)",
                 others, cpus_, max_);
    return;
  }
  const double last_busy = last_.busy, last_own = last_.own;
  last_ = s;
  next_check_ = s.wall + kInterval;
  const int64_t target =
      std::clamp<int64_t>(static_cast<int64_t>(std::lround(static_cast<double>(cpus_) - others)), 1, max_);
  spdlog::debug("CPU sharing: {:.2f} s, busy {:.2f} cores, own {:.2f} cores, others {:.2f} -> target {} threads", wall,
                (s.busy - last_busy) / wall, (s.own - last_own) / wall, others, target);
  // Fewer threads at once (spinning on a shared core is what costs); more only after two checks
  // in a row agree, so one quiet moment does not flip it back.
  if (target == current_) {
    pending_ = 0;
    return;
  }
  if (target > current_ && pending_ != target) {
    pending_ = target;
    return;
  }
  pending_ = 0;
  spdlog::info("CPU sharing: other processes use about {:.1f} of {} cores; training on {} thread{} now (of {})", others,
               cpus_, target, target == 1 ? "" : "s", max_);
  current_ = target;
  at::set_num_threads(static_cast<int>(target));
}

}  // namespace kdprune::system
