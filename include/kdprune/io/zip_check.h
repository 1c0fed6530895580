#pragma once
// LibTorch archives (model.pt, checkpoint.pt) are zip files whose records carry a CRC-32, but
// LibTorch's reader does not check it: a flipped byte in a tensor loads as a silently wrong weight.
// This reads the zip's central directory and checks every stored record's CRC-32.
#include <string>

namespace kdprune::io {

// Throws kdprune::Error naming `path` (as `what`, e.g. "model file 'x.pt'") and the first bad
// record, or a structural problem (truncated file, not a zip).
void verify_zip_crcs(const std::string& path, const std::string& what);

}  // namespace kdprune::io
