#pragma once
// NumPy .npy version 1.0 files: 1-D, C order. Written atomically.
#include <cstdint>
#include <string>
#include <vector>

namespace kdprune::io {

void write_npy_f32(const std::string& path, const std::vector<float>& values);
void write_npy_i64(const std::string& path, const std::vector<int64_t>& values);

// Reads <f4, <f8, <i4 or <i8 (1-D, C order) and converts. Anything else is a kdprune::Error
// naming the file and what was found.
std::vector<double> read_npy_as_f64(const std::string& path);
std::vector<int64_t> read_npy_as_i64(const std::string& path);  // float data must be integral

}  // namespace kdprune::io
