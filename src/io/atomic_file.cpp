#include "kdprune/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kdprune/util/error.h"

namespace kdprune::io {
namespace fs = std::filesystem;

namespace {
std::string temp_name(const std::string& path) {
  // Same directory (rename must not cross file systems); pid keeps concurrent writers apart.
  return path + ".tmp." + std::to_string(::getpid());
}
void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}
}  // namespace

void write_via_temp(const std::string& path, const std::function<void(const std::string&)>& write) {
  const std::string tmp = temp_name(path);
  try {
    write(tmp);
    fsync_path(tmp);
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw Error("cannot write '" + path + "': " + ec.message());
  } catch (const Error&) {
    std::error_code ignore;
    fs::remove(tmp, ignore);
    throw;
  } catch (const std::exception& e) {
    // A writer's own exception (a library's, with its trace) becomes one line naming the file.
    std::error_code ignore;
    fs::remove(tmp, ignore);
    std::string first(e.what());
    first = first.substr(0, first.find('\n'));
    throw Error("cannot write '" + path + "': " + first);
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_via_temp(path, [&](const std::string& tmp) {
    // POSIX calls, so that a full disk is reported as such (errno), at write, fsync or close.
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Error("cannot write '" + path + "': " + std::strerror(errno));
    auto fail = [&](const char* what) {
      const int err = errno;
      ::close(fd);
      throw Error("cannot write '" + path + "': " + what + ": " + std::strerror(err));
    };
    for (size_t done = 0; done < bytes.size();) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("write failed");
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) fail("fsync failed");
    if (::close(fd) != 0) throw Error("cannot write '" + path + "': close failed: " + std::strerror(errno));
  });
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("'" + path + "': cannot open (" + std::strerror(errno) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace kdprune::io
