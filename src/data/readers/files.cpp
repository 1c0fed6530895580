// Finding dataset files and reading them whole (transparently gunzipping).
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "kdprune/util/error.h"
#include "readers.h"

namespace kdprune::data {
namespace fs = std::filesystem;

std::vector<std::string> candidate_dirs(const std::string& root, const std::string& fallback,
                                        const std::vector<std::string>& subdirs) {
  const std::string base = root.empty() ? fallback : root;
  std::vector<std::string> dirs{base};
  for (const auto& s : subdirs) dirs.push_back((fs::path(base) / s).string());
  return dirs;
}

std::string locate(const std::string& what, const std::vector<std::string>& dirs,
                   const std::vector<std::string>& names) {
  std::string tried;
  for (const auto& d : dirs)
    for (const auto& n : names) {
      const auto p = fs::path(d) / n;
      std::error_code ec;
      if (fs::is_regular_file(p, ec)) return p.string();
      if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory)
        throw Error(what + ": cannot access " + p.string() + " (" + ec.message() + "; check data.root)");
      tried += (tried.empty() ? "" : ", ") + p.string();
    }
  throw Error(what + " not found; tried " + tried + " (set data.root to the folder holding the files)");
}

std::string read_whole_file(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files unchanged
  if (!f) throw Error("'" + path + "': cannot open (" + std::strerror(errno) + ")");
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int code = 0;
      std::string msg = gzerror(f, &code);
      gzclose(f);
      throw Error("'" + path + "': corrupt or truncated gzip data (" + msg + ")");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  // A gzip stream cut short ends in a short read with Z_BUF_ERROR set, not in a failed read.
  int code = Z_OK;
  const std::string msg = gzerror(f, &code);
  gzclose(f);
  if (code != Z_OK) throw Error("'" + path + "': corrupt or truncated gzip data (" + msg + ")");
  return out;
}

}  // namespace kdprune::data
