#pragma once
// Content hashes of files, for checked stage reuse: what a stage produced and read is recorded
// by content, so a missing, damaged or replaced file is found whatever its path or timestamps.
#include <string>

namespace kdprune::io {

// A hex digest of the file's bytes ("" when it cannot be read). Cached per path, size and
// modification time within the process, so a plan that names one file many times reads it once.
std::string file_digest(const std::string& path);

}  // namespace kdprune::io
