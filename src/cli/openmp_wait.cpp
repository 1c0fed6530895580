// Shared cores: LibTorch's OpenMP runtime (libgomp) lets a thread that reaches a barrier spin
// for ~300,000 iterations before it sleeps. When two trainings share two cores, the spinning
// thread holds the core its descheduled sibling needs, and both runs collapse to a few percent
// of their speed. A short spin keeps the solo speed and lets a shared core go to whoever can
// work. libgomp reads GOMP_SPINCOUNT only while it loads (before main), so the process sets it
// and executes itself once more. A value the user set (GOMP_SPINCOUNT, OMP_WAIT_POLICY) wins.
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "cli.h"

namespace kdprune::cli {

// Spin iterations before a waiting OpenMP thread sleeps (libgomp's default is 300000).
constexpr const char* kSpinCount = "10000";

void set_openmp_wait_policy(int argc, char** argv) {
  if (std::getenv("GOMP_SPINCOUNT") || std::getenv("OMP_WAIT_POLICY")) return;
  // Only commands that compute; `info`, `config`, `results`, --help start once, as before.
  static const char* const computing[] = {"train-teacher", "distill", "score", "prune", "eval", "run"};
  if (argc < 2) return;
  bool computes = false;
  for (const char* c : computing) computes = computes || std::strcmp(argv[1], c) == 0;
  if (!computes) return;
  // The binary's own path, not /proc/self/exe, so that ps and pgrep still see "kdprune".
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return;
  self[n] = '\0';
  if (setenv("GOMP_SPINCOUNT", kSpinCount, 1) != 0) return;
  execv(self, argv);
  unsetenv("GOMP_SPINCOUNT");  // exec failed (no /proc?): carry on with the runtime's default
}

}  // namespace kdprune::cli
