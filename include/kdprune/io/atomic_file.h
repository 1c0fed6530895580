#pragma once
// Whole-file writes that never leave a truncated file under the final name: the bytes go to a
// temporary file in the same directory, are flushed to disk, and the file is renamed into place.
#include <functional>
#include <iosfwd>
#include <string>

namespace kdprune::io {

void write_file_atomic(const std::string& path, const std::string& bytes);

// For writers that stream (e.g. a torch checkpoint): `write` fills the temporary path, which is
// then renamed to `path`. If `write` throws, the temporary is removed and `path` is untouched.
void write_via_temp(const std::string& path, const std::function<void(const std::string& tmp_path)>& write);

std::string read_file(const std::string& path);  // throws kdprune::Error naming the file

}  // namespace kdprune::io
