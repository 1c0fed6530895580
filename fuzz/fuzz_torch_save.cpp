// libFuzzer harness: torch.save files (PyTorch state_dicts), train::read_torch_save_state_dict
// (src/train/torch_save.cpp over src/io/zip_reader.cpp and src/io/pickle_*.cpp): the zip format
// and the legacy format, tensors rebuilt from their storages.
//
// Input: one .pth file. Zip inputs go through the CRC fix-up of fuzz_torch_common.h.
#include "kdprune/train/torch_save.h"

#include "fuzz_torch_common.h"
#include "kdprune/util/error.h"

using namespace kdprune;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kdprune_fuzz::torch_init("torch_save");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kdprune_fuzz::run_archive(data, size, "state.pth", [](const std::string& path, bool crc_ok) {
    try {
      const train::PyTorchStateDict sd = train::read_torch_save_state_dict(path, "fuzz");
      FUZZ_CHECK(crc_ok, "a file with a wrong record CRC-32 was accepted");
      FUZZ_CHECK(!sd.tensors.empty(), "an empty state_dict was accepted");
      for (const auto& [name, t] : sd.tensors) {
        FUZZ_CHECK(t.defined(), "tensor '" + name + "' undefined");
        FUZZ_CHECK(t.is_contiguous(), "tensor '" + name + "' not contiguous");
        if (t.numel() > 0) (void)t.sum().item<double>();  // every element readable
      }
      kdprune_fuzz::accepted("state_dict of " + std::to_string(sd.tensors.size()) + " tensors");
    } catch (const Error& e) {
      kdprune_fuzz::refused(e);
    }
  });
  return 0;
}
