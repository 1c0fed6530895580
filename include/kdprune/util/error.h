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

// A broken internal invariant: a bug in kdprune, not in the user's input (an unresolved setting
// reaching the trainer, a value outside its enum). It is an Error so that every boundary that
// reports errors reports it too, but boundaries name it as a bug (describe_failure) rather than as
// something the user should change.
class InternalError : public Error {
 public:
  explicit InternalError(const std::string& message) : Error("internal error: " + message) {}
};

}  // namespace kdprune
