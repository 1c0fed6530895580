// A test binary that crashes (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) prints the native stack to
// stderr before it dies, so a crash on a machine without a debugger (the lent GPU machines) says
// where it happened. The binaries export their symbols (ENABLE_EXPORTS) so the frames have names.
#include <execinfo.h>
#include <unistd.h>

#include <csignal>
#include <initializer_list>

namespace {
void print_stack(int sig) {
  void* frames[64];
  const int n = backtrace(frames, 64);
  const char head[] = "\n*** fatal signal; native stack:\n";
  (void)!write(STDERR_FILENO, head, sizeof(head) - 1);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}
const bool installed = [] {
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(sig, print_stack);
  return true;
}();
}  // namespace
