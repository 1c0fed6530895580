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
  for (std::string f; std::getline(ss, f, ',');) {
    f = trim(f);
    if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);  // "index"
    out.push_back(f);
  }
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

// Text that is meant as a number (digits, sign, point, exponent) but is no index.
bool looks_numeric(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789+-.eE") == std::string::npos &&
         s.find_first_of("0123456789") != std::string::npos;
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
  size_t column = 0, width = 0;  // the index column; the number of fields every row has
  bool first = true;
  int64_t line_no = 0;
  auto at = [&](const std::string& why) { return Error(what + ": line " + std::to_string(line_no) + " " + why); };
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line_no == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a UTF-8 byte-order mark
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const auto f = fields(line);
    int64_t v;
    if (first) {
      first = false;
      width = f.size();
      if (!parse_index(f[0], v) && !looks_numeric(f[0])) {  // a header: the `index` column
        bool found = false;
        for (size_t i = 0; i < f.size(); ++i)
          if (f[i] == "index" || f[i] == "idx") column = i, found = true;
        if (!found) throw at("is a header without an 'index' column (got '" + line + "')");
        continue;
      }
      // Without a header only a single column says which field is the index.
      if (f.size() > 1)
        throw at("has " + std::to_string(f.size()) + " columns but the file has no header naming the 'index' column "
                 "(add a first line such as index,score)");
    }
    if (f.size() != width)
      throw at("has " + std::to_string(f.size()) + " field(s), the first line " + std::to_string(width) + " (a ragged row)");
    if (!parse_index(f[column], v))
      throw at("'" + f[column] + "' is not a sample index (a whole number below 9e15)" +
               (column ? " in column " + std::to_string(column + 1) : std::string()));
    out.push_back(v);
  }
  return out;
}

}  // namespace kdprune::io
