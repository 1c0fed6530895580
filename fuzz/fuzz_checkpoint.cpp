// libFuzzer harness: checkpoint.pt loader, kdprune::train::load_checkpoint and
// checkpoint_epochs_done (src/train/checkpoint.cpp, src/train/archive.cpp, src/io/zip_check.cpp).
//
// Input: one checkpoint.pt (a LibTorch zip archive). It is restored into a fresh resnet8 for 1
// input channel, 4 classes and 8x8 images with an SGD optimizer (momentum 0.9), the model the
// seed corpus was trained with. See fuzz_torch_common.h for the CRC fix-up.
#include "kdprune/train/checkpoint.h"

#include "fuzz_torch_common.h"
#include "kdprune/util/error.h"

using namespace kdprune;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kdprune_fuzz::torch_init("checkpoint");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kdprune_fuzz::run_archive(data, size, "checkpoint.pt", [](const std::string& path, bool crc_ok) {
    try {
      const int64_t epochs = train::checkpoint_epochs_done(path);
      FUZZ_CHECK(crc_ok, "checkpoint_epochs_done accepted a file with a wrong record CRC-32");
      FUZZ_CHECK(epochs >= 0, "negative epochs_done");
      kdprune_fuzz::accepted("checkpoint_epochs_done: " + std::to_string(epochs));
    } catch (const Error& e) {
      kdprune_fuzz::refused(e);
    }
    try {
      models::Model model = models::create_model("resnet8", models::ModelSpec{1, 4, 8});
      torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(5e-4));
      const train::TrainState s = train::load_checkpoint(path, *model, opt);
      FUZZ_CHECK(crc_ok, "load_checkpoint accepted a file with a wrong record CRC-32");
      FUZZ_CHECK(s.epochs_done >= 0, "negative epochs_done");
      kdprune_fuzz::accepted("load_checkpoint: epoch " + std::to_string(s.epochs_done));
    } catch (const Error& e) {
      kdprune_fuzz::refused(e);
    }
  });
  return 0;
}
