// libFuzzer harness: IDX reader (MNIST / Fashion-MNIST files), src/data/readers/idx.cpp.
//
// Input: byte 0 is the mode, the rest is split by fuzz_common.h's split_u16.
//   mode bit 7 clear: read_idx(images, labels, classes) on two files
//       rest = [u16 len][images file][labels file], classes = mode (0 means 10)
//   mode bit 7 set:   load_dataset() with data.root holding the four files of an IDX dataset
//       rest = [u16][train-images][u16][train-labels][u16][t10k-images][t10k-labels],
//       data.name = mnist (mode bit 0 set) or fashion-mnist; bit 1 set: the files are named *.gz
// Files may be gzip-compressed or plain (read_whole_file gunzips transparently).
#include <cstdint>
#include <string>

#include "../src/data/readers/readers.h"
#include "fuzz_common.h"
#include "kdprune/data/dataset_registry.h"
#include "kdprune/util/error.h"

using namespace kdprune;

namespace {

void check_split(const data::ImageSplit& s, int64_t classes, const char* which) {
  const std::string w = which;
  FUZZ_CHECK(s.n >= 0 && s.c >= 1 && s.h >= 0 && s.w >= 0, w + " split has negative sizes");
  FUZZ_CHECK(s.labels.size() == static_cast<size_t>(s.n), w + ": label count != n");
  FUZZ_CHECK(s.images.size() == static_cast<size_t>(s.n) * static_cast<size_t>(s.c) * static_cast<size_t>(s.h) *
                                    static_cast<size_t>(s.w),
             w + ": image bytes != n*c*h*w");
  for (int64_t y : s.labels) FUZZ_CHECK(y >= 0 && y < classes, w + ": label " + std::to_string(y) + " out of range");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kdprune_fuzz::scratch_dir("idx");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const unsigned mode = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (!(mode & 0x80)) {
    const auto parts = kdprune_fuzz::split_u16(rest, 2);
    const std::string images = kdprune_fuzz::write_file("images-idx3-ubyte", parts[0]);
    const std::string labels = kdprune_fuzz::write_file("labels-idx1-ubyte", parts[1]);
    const int64_t classes = mode == 0 ? 10 : mode;
    try {
      const data::ImageSplit s = data::read_idx(images, labels, classes);
      check_split(s, classes, "read_idx");
      FUZZ_CHECK(s.c == 1, "IDX images must have one channel");
      kdprune_fuzz::accepted("read_idx: " + std::to_string(s.n) + " images of " + std::to_string(s.h) + "x" + std::to_string(s.w));
    } catch (const Error& e) {
      kdprune_fuzz::refused(e);
    }
    return 0;
  }
  const auto parts = kdprune_fuzz::split_u16(rest, 4);
  const std::string root = kdprune_fuzz::scratch_dir() + "/idx-root";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  const std::string gz = (mode & 2) ? ".gz" : "";
  const char* names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                          "t10k-labels-idx1-ubyte"};
  for (int i = 0; i < 4; ++i) kdprune_fuzz::write_file(std::string("idx-root/") + names[i] + gz, parts[i]);
  DataSection section;
  section.name = (mode & 1) ? "mnist" : "fashion-mnist";
  section.root = root;
  try {
    const data::RawDataset ds = data::load_dataset(section, 0);
    check_split(ds.train, ds.info.classes, "train");
    check_split(ds.test, ds.info.classes, "test");
    FUZZ_CHECK(ds.train.c == ds.test.c && ds.train.h == ds.test.h && ds.train.w == ds.test.w,
               "train and test image shapes differ");
    const auto counts = data::class_counts(ds.train, ds.info.classes);
    FUZZ_CHECK(counts.size() == static_cast<size_t>(ds.info.classes), "class_counts size");
    kdprune_fuzz::accepted(section.name + ": " + std::to_string(ds.train.n) + " train, " + std::to_string(ds.test.n) + " test");
  } catch (const Error& e) {
    kdprune_fuzz::refused(e);
  }
  return 0;
}
