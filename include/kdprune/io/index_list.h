#pragma once
// Lists of sample indices (subset files, score orders) in the forms researchers have them: .npy
// (integers, or integral floats), plain text with one index per line, or .csv whose header has an
// `index` column (without a header: the first column).
#include <cstdint>
#include <string>
#include <vector>

namespace kdprune::io {

// `what` names the input in messages, e.g. "data.subset 'x.txt'". Throws kdprune::Error for an
// unreadable file or a line that is not an integer (naming the line). Order kept, not checked.
std::vector<int64_t> read_index_list(const std::string& path, const std::string& what);

}  // namespace kdprune::io
