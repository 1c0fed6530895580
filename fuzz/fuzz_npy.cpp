// libFuzzer harness: .npy reader, src/io/npy.cpp.
//
// Input: the whole input is one .npy file, read with read_npy_as_f64 and read_npy_as_i64.
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "kdprune/io/npy.h"
#include "kdprune/util/error.h"

using namespace kdprune;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kdprune_fuzz::scratch_dir("npy");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      kdprune_fuzz::write_file("input.npy", std::string_view(reinterpret_cast<const char*>(data), size));
  bool f64_ok = false;
  size_t f64_n = 0;
  try {
    const auto v = io::read_npy_as_f64(path);
    f64_ok = true;
    f64_n = v.size();
    FUZZ_CHECK(v.size() <= size, "more items than input bytes");
    kdprune_fuzz::accepted("read_npy_as_f64: " + std::to_string(v.size()) + " items");
  } catch (const Error& e) {
    kdprune_fuzz::refused(e);
  }
  try {
    const auto v = io::read_npy_as_i64(path);
    FUZZ_CHECK(v.size() <= size, "more items than input bytes");
    // Every file the integer reader accepts holds numbers, so the float reader accepts it too.
    FUZZ_CHECK(f64_ok && f64_n == v.size(), "read_npy_as_i64 accepted a file read_npy_as_f64 refused, or sizes differ");
    kdprune_fuzz::accepted("read_npy_as_i64: " + std::to_string(v.size()) + " items");
  } catch (const Error& e) {
    kdprune_fuzz::refused(e);
  }
  return 0;
}
