#pragma once
#include <stdexcept>
#include <string>

namespace kdprune {

// A user-facing failure: bad input, a missing file, an invalid config value. The message is one
// line that names the file or key and what was expected; the CLI prints it and exits non-zero.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace kdprune
