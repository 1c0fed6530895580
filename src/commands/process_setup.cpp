#include "kdprune/commands/process_setup.h"

#include <csignal>

#include "kdprune/dist/launch_env.h"
#include "kdprune/system/cpu_share.h"

namespace kdprune::commands {

void prepare_process(int argc, char** argv) {
  // A file-size limit (ulimit -f) would kill the process by SIGXFSZ with no message; ignored,
  // the write fails with EFBIG instead, which every writer reports as a one-line error.
  std::signal(SIGXFSZ, SIG_IGN);
  static const char* const training[] = {"train-teacher", "distill", "score", "run", nullptr};
  system::choose_openmp_wait(argc, argv, training);
}

bool prints_result() { return dist::launch_env().rank == 0; }

}  // namespace kdprune::commands
