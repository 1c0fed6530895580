#pragma once
// One line for an exception of any type, for the boundaries that keep going after a failure (a
// student of a group, a stage of `kdprune run`): kdprune's own errors as they are (an internal
// one says so: util/error.h), LibTorch's without their C++ backtrace, std::bad_alloc by name.
#include <exception>
#include <string>

namespace kdprune::system {

std::string describe_failure(const std::exception& e);
// The same for whatever is in flight (call inside a catch block): non-std exceptions too.
std::string describe_current_failure();

}  // namespace kdprune::system
