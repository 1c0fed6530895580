// libFuzzer harness: model.pt loader, kdprune::train::load_model (src/train/model_file.cpp,
// src/train/archive.cpp, src/io/zip_check.cpp, the model registry).
//
// Input: one model.pt (a LibTorch zip archive). See fuzz_torch_common.h for the CRC fix-up.
#include "kdprune/train/model_file.h"

#include "fuzz_torch_common.h"
#include "kdprune/util/error.h"

using namespace kdprune;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kdprune_fuzz::torch_init("model_file");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kdprune_fuzz::run_archive(data, size, "model.pt", [](const std::string& path, bool crc_ok) {
    try {
      train::LoadedModel m = train::load_model(path, torch::Device(torch::kCPU));
      FUZZ_CHECK(crc_ok, "a file with a wrong record CRC-32 was accepted");
      FUZZ_CHECK(m.model != nullptr, "load_model returned no model");
      const auto& s = m.meta.spec;
      FUZZ_CHECK(s.in_channels >= 1 && s.classes >= 1 && s.image_size >= 1, "metadata out of bounds");
      kdprune_fuzz::accepted("load_model: " + m.meta.arch + ", dataset " + m.meta.dataset);
    } catch (const Error& e) {
      kdprune_fuzz::refused(e);
    }
  });
  return 0;
}
