#pragma once
// One process per run directory: an exclusive flock on <root>/.<name>.lock, held for the life of
// the run. The lock file sits beside the run directory, not in it, so --force can delete and
// recreate the directory while the lock stays in place. The kernel drops the lock when the process
// ends, however it ends (kill -9 included), so a stale lock file never blocks a rerun.
#include <memory>
#include <string>

namespace kdprune::io {

class RunLock {
 public:
  // Throws kdprune::Error naming the run and the holder's pid when another process holds it.
  static std::shared_ptr<RunLock> acquire(const std::string& root, const std::string& name);
  // The same lock without waiting or throwing when it is held: null then. `shared`: a shared lock,
  // which any number of processes hold together and which keeps out the exclusive one (workers of
  // one experiment hold it shared; a plain `kdprune run` exclusively).
  static std::shared_ptr<RunLock> try_acquire(const std::string& root, const std::string& name, bool shared = false);
  // Turns a held exclusive lock into a shared one (the workers' first, having written what the
  // others read under it).
  void share();
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  explicit RunLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace kdprune::io
