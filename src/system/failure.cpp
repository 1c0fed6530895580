#include "kdprune/system/failure.h"

#include <c10/util/Exception.h>

#include <new>

namespace kdprune::system {

std::string describe_failure(const std::exception& e) {
  // LibTorch's errors carry a C++ backtrace after the message: the first line says what failed.
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) {
    const std::string m = c10->what_without_backtrace();
    return m.substr(0, m.find('\n'));
  }
  if (dynamic_cast<const std::bad_alloc*>(&e)) return "out of host memory (std::bad_alloc)";
  return e.what();
}

std::string describe_current_failure() {
  try {
    throw;
  } catch (const std::exception& e) {
    return describe_failure(e);
  } catch (...) {
    return "an exception of unknown type";
  }
}

}  // namespace kdprune::system
