#pragma once
// NumPy .npy version 1.0 files, C order, written atomically: 1-D numbers, and uint8 arrays of any shape.
#include <cstdint>
#include <string>
#include <vector>

namespace kdprune::io {

void write_npy_f32(const std::string& path, const std::vector<float>& values);
void write_npy_i64(const std::string& path, const std::vector<int64_t>& values);
// uint8 of any shape (row-major), e.g. N×C×H×W images; the readers below take 1-D files only.
void write_npy_u8(const std::string& path, const std::vector<int64_t>& shape, const std::vector<uint8_t>& values);

// Reads <f4, <f8, <i4 or <i8 (1-D, C order) and converts. Anything else is a kdprune::Error
// naming the file and what was found.
std::vector<double> read_npy_as_f64(const std::string& path);
std::vector<int64_t> read_npy_as_i64(const std::string& path);  // float data must be integral

}  // namespace kdprune::io
