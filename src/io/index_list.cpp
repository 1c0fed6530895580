#include "kdprune/io/index_list.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kdprune/io/npy.h"
#include "kdprune/util/error.h"

namespace kdprune::io {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  return s.substr(b);
}

std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  for (std::string f; std::getline(ss, f, ',');) out.push_back(trim(f));
  return out;
}

bool parse_index(const std::string& s, int64_t& v) {
  try {
    size_t used = 0;
    const double d = std::stod(s, &used);
    if (used != s.size() || d != std::floor(d) || std::abs(d) > 9e15) return false;
    v = static_cast<int64_t>(d);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

std::vector<int64_t> read_index_list(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(what + ": not found (or not a regular file)");
  if (std::filesystem::path(path).extension() == ".npy") {
    try {
      return read_npy_as_i64(path);
    } catch (const Error& e) {
      throw Error(what + ": " + e.what());
    }
  }
  std::ifstream in(path);
  if (!in) throw Error(what + ": cannot open");
  std::vector<int64_t> out;
  size_t column = 0;
  bool first = true;
  int64_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const auto f = fields(line);
    int64_t v;
    if (first) {
      first = false;
      if (!parse_index(f[0], v)) {  // a header: the `index` column
        bool found = false;
        for (size_t i = 0; i < f.size(); ++i)
          if (f[i] == "index" || f[i] == "idx") column = i, found = true;
        if (!found) throw Error(what + ": line " + std::to_string(line_no) + " is a header without an 'index' column");
        continue;
      }
    }
    if (column >= f.size() || !parse_index(f[column], v))
      throw Error(what + ": line " + std::to_string(line_no) + " has no integer index" +
                  (column ? " in column " + std::to_string(column + 1) : std::string()));
    out.push_back(v);
  }
  return out;
}

}  // namespace kdprune::io
