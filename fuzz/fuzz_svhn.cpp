// libFuzzer harness: SVHN .mat reader (matio), src/data/readers/svhn.cpp.
//
// Input: the whole input is one MATLAB file, read with read_svhn_mat(path). The project must be
// built with matio (KDPRUNE_WITH_MATIO); otherwise every input is a kdprune::Error.
#include <cstdint>
#include <string>

#include "../src/data/readers/readers.h"
#include "fuzz_common.h"
#include "kdprune/util/error.h"

using namespace kdprune;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kdprune_fuzz::scratch_dir("svhn");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      kdprune_fuzz::write_file("train_32x32.mat", std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const data::ImageSplit s = data::read_svhn_mat(path);
    FUZZ_CHECK(s.c == 3 && s.h == 32 && s.w == 32, "SVHN images are 3x32x32");
    FUZZ_CHECK(s.n >= 0, "negative n");
    FUZZ_CHECK(s.labels.size() == static_cast<size_t>(s.n), "label count != n");
    FUZZ_CHECK(s.images.size() == static_cast<size_t>(s.n) * 3072, "image bytes != n*3072");
    for (int64_t y : s.labels) FUZZ_CHECK(y >= 0 && y < 10, "label " + std::to_string(y) + " out of range");
    kdprune_fuzz::accepted("read_svhn_mat: " + std::to_string(s.n) + " images");
  } catch (const Error& e) {
    kdprune_fuzz::refused(e);
  }
  return 0;
}
