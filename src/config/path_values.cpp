#include "kdprune/config/path_values.h"

#include <cctype>
#include <cstdlib>

#include "kdprune/util/error.h"

namespace kdprune::config_paths {

std::string expand_path(const std::string& value, const std::string& where) {
  if (value.empty()) return value;
  std::string out;
  size_t i = 0;
  if (value[0] == '~' && (value.size() == 1 || value[1] == '/')) {
    const char* home = std::getenv("HOME");
    if (!home || !*home) throw Error(where + ": '~' needs HOME, which is not set");
    out = home;
    i = 1;
  }
  for (; i < value.size(); ++i) {
    if (value[i] != '$' || i + 1 >= value.size()) {
      out += value[i];
      continue;
    }
    const bool braced = value[i + 1] == '{';
    size_t start = i + (braced ? 2 : 1), end = start;
    while (end < value.size() && (std::isalnum(static_cast<unsigned char>(value[end])) || value[end] == '_')) ++end;
    if (braced && (end >= value.size() || value[end] != '}'))
      throw Error(where + ": '" + value + "': ${...} here names an environment variable (letters, digits, _); "
                  "config keys are not interpolated: write the value itself");
    if (end == start) {
      out += value[i];  // a lone '$' stays
      continue;
    }
    const std::string name = value.substr(start, end - start);
    const char* v = std::getenv(name.c_str());
    if (!v) throw Error(where + ": $" + name + " is not set (in '" + value + "')");
    out += v;
    i = braced ? end : end - 1;
  }
  return out;
}


}  // namespace kdprune::config_paths
