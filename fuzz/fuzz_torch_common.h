#pragma once
// Shared setup of the LibTorch archive harnesses (model.pt, checkpoint.pt).
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "fuzz_zip.h"

// LibTorch keeps global state (registries, thread pools, caches) that LeakSanitizer reports at
// exit; it is not instrumented, so leak reports from these harnesses are noise. Included by one
// translation unit per harness, so this is defined once per executable.
extern "C" __attribute__((used)) const char* __asan_default_options() { return "detect_leaks=0"; }

namespace kdprune_fuzz {

inline void torch_init(const char* harness) {
  scratch_dir(harness);
  torch::set_num_threads(1);  // one core per fuzzer; no thread pool to spin up per input
  torch::manual_seed(0);
}

// The archive as kdprune would meet it: when the input's stored-record CRCs are wrong, first the
// raw bytes (which must be refused, by the CRC check), then the bytes with the CRCs fixed up so
// that the mutation reaches LibTorch's reader. `load(path)` runs the code under test.
template <class Load>
void run_archive(const uint8_t* data, size_t size, const char* name, Load&& load) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  std::string fixed = bytes;
  if (fix_zip_crcs(fixed)) load(write_file(name, bytes), /*crc_ok=*/false);
  load(write_file(name, fixed), /*crc_ok=*/true);
}

}  // namespace kdprune_fuzz
