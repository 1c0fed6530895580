// Finding dataset files and reading them whole (transparently gunzipping).
#include <zlib.h>

#include <algorithm>
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

namespace {
std::string absolute(const std::string& p) {
  std::error_code ec;
  const auto a = fs::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

std::string file_names(const std::vector<std::vector<std::string>>& files) {
  std::string s;
  for (const auto& f : files) {
    std::string alt;
    for (const auto& n : f) alt += (alt.empty() ? "" : " or ") + n;
    s += (s.empty() ? "" : ", ") + alt;
  }
  return s;
}

// The first of `names` that is a file in `dir`; empty if none. Errors other than "absent" (a
// folder without permission) are said, not mistaken for a missing dataset.
std::string present_file(const std::string& what, const std::string& dir, const std::vector<std::string>& names) {
  for (const auto& n : names) {
    const auto p = fs::path(dir) / n;
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
    if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory)
      throw Error(what + ": cannot access " + absolute(p.string()) + " (" + ec.message() + "; check data.root)");
  }
  return {};
}
}  // namespace

FoundLayout find_layout(const DatasetFiles& want, const DataSection& data, const std::vector<std::string>& dirs) {
  std::string partial;  // the closest miss: a folder holding some of a layout's files
  size_t best = 0;
  for (const auto& d : dirs)
    for (size_t l = 0; l < want.layouts.size(); ++l) {
      const auto& layout = want.layouts[l];
      FoundLayout found{l, d, {}};
      std::string missing, have;
      for (const auto& f : layout.files) {
        const auto p = present_file(want.dataset, d, f);
        found.paths.push_back(p);
        if (p.empty()) missing += (missing.empty() ? "" : ", ") + f.front();
        else have += (have.empty() ? "" : ", ") + fs::path(p).filename().string();
      }
      if (missing.empty()) return found;
      const size_t n = layout.files.size() - static_cast<size_t>(std::count(found.paths.begin(), found.paths.end(), ""));
      if (n > best) {
        best = n;
        partial = "; " + absolute(d) + " holds " + have + " of " + layout.name + " but not " + missing;
      }
    }
  std::string layouts;
  for (size_t l = 0; l < want.layouts.size(); ++l)
    layouts += std::string(l == 0 ? "" : l + 1 == want.layouts.size() ? " or " : ", ") + want.layouts[l].name + " (" +
               file_names(want.layouts[l].files) + ")";
  std::string tried;
  for (const auto& d : dirs) tried += (tried.empty() ? "" : ", ") + absolute(d);
  const std::string where = data.root.empty() && fs::path(dirs.front()).is_relative()
      ? " (data.root is not set: its default " + dirs.front() + " is relative to the current directory)"
      : "";
  throw Error(want.dataset + " not found: no folder holds " + layouts + "; looked in " + tried + where + partial + "; " +
              want.source + ", and set data.root to the folder holding the files");
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
