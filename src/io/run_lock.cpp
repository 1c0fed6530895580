#include "kdprune/io/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "kdprune/util/error.h"

namespace kdprune::io {

std::shared_ptr<RunLock> RunLock::acquire(const std::string& root, const std::string& name) {
  const std::string path = (std::filesystem::path(root) / ("." + name + ".lock")).string();
  const std::string run = (std::filesystem::path(root) / name).string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("run '" + run + "': cannot open its lock file " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK)
      throw Error("run '" + run + "': cannot lock " + path + ": " + std::strerror(err));
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("unknown");
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    throw Error("run '" + run + "' is in use by another kdprune process (pid " + holder +
                "); wait for it to end or choose another run.name");
  }
  // The holder's pid, for the message above; a failure to write it does not weaken the lock.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
  }
  return std::shared_ptr<RunLock>(new RunLock(fd));
}

std::shared_ptr<RunLock> RunLock::try_acquire(const std::string& root, const std::string& name, bool shared) {
  const std::string path = (std::filesystem::path(root) / ("." + name + ".lock")).string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("run '" + (std::filesystem::path(root) / name).string() + "': cannot open its lock file " + path + ": " +
                          std::strerror(errno));
  if (::flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err != EWOULDBLOCK) throw Error("cannot lock " + path + ": " + std::strerror(err));
    return nullptr;
  }
  return std::shared_ptr<RunLock>(new RunLock(fd));
}

void RunLock::share() {
  if (::flock(fd_, LOCK_SH) != 0) throw Error(std::string("cannot share a lock: ") + std::strerror(errno));
}

RunLock::~RunLock() { ::close(fd_); }

}  // namespace kdprune::io
