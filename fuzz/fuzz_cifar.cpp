// libFuzzer harness: CIFAR-10/100 binary reader, src/data/readers/cifar.cpp.
//
// Input: byte 0 is the mode, the rest is split by fuzz_common.h's split_u16.
//   mode & 3 == 0: read_cifar_bin(files, 1, 0, 10)   (CIFAR-10 records)
//   mode & 3 == 1: read_cifar_bin(files, 2, 1, 100)  (CIFAR-100 records, fine label)
//       rest = 1 to 3 files ((mode >> 2) % 3 + 1 parts)
//   mode & 3 == 2: load_dataset(cifar10): rest = data_batch_1..5.bin, test_batch.bin, batches.meta.txt
//   mode & 3 == 3: load_dataset(cifar100): rest = train.bin, test.bin, fine_label_names.txt
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
  FUZZ_CHECK(s.c == 3 && s.h == 32 && s.w == 32, w + ": CIFAR images are 3x32x32");
  FUZZ_CHECK(s.n >= 0, w + ": negative n");
  FUZZ_CHECK(s.labels.size() == static_cast<size_t>(s.n), w + ": label count != n");
  FUZZ_CHECK(s.images.size() == static_cast<size_t>(s.n) * 3072, w + ": image bytes != n*3072");
  for (int64_t y : s.labels) FUZZ_CHECK(y >= 0 && y < classes, w + ": label " + std::to_string(y) + " out of range");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kdprune_fuzz::scratch_dir("cifar");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const unsigned mode = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const unsigned kind = mode & 3;
  if (kind <= 1) {
    const size_t nfiles = (mode >> 2) % 3 + 1;
    const auto parts = kdprune_fuzz::split_u16(rest, nfiles);
    std::vector<std::string> files;
    for (size_t i = 0; i < parts.size(); ++i)
      files.push_back(kdprune_fuzz::write_file("batch_" + std::to_string(i) + ".bin", parts[i]));
    const int64_t label_bytes = kind == 0 ? 1 : 2, label_index = kind == 0 ? 0 : 1, classes = kind == 0 ? 10 : 100;
    try {
      const data::ImageSplit s = data::read_cifar_bin(files, label_bytes, label_index, classes);
      check_split(s, classes, "read_cifar_bin");
      kdprune_fuzz::accepted("read_cifar_bin: " + std::to_string(s.n) + " records");
    } catch (const Error& e) {
      kdprune_fuzz::refused(e);
    }
    return 0;
  }
  const std::string root = kdprune_fuzz::scratch_dir() + "/cifar-root";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  std::vector<std::string> names;
  DataSection section;
  section.root = root;
  if (kind == 2) {
    section.name = "cifar10";
    names = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
             "data_batch_5.bin", "test_batch.bin",   "batches.meta.txt"};
  } else {
    section.name = "cifar100";
    names = {"train.bin", "test.bin", "fine_label_names.txt"};
  }
  const auto parts = kdprune_fuzz::split_u16(rest, names.size());
  for (size_t i = 0; i < names.size(); ++i) kdprune_fuzz::write_file("cifar-root/" + names[i], parts[i]);
  try {
    const data::RawDataset ds = data::load_dataset(section, 0);
    check_split(ds.train, ds.info.classes, "train");
    check_split(ds.test, ds.info.classes, "test");
    FUZZ_CHECK(ds.info.class_names.size() == static_cast<size_t>(ds.info.classes),
               "class_names has " + std::to_string(ds.info.class_names.size()) + " entries");
    FUZZ_CHECK(ds.info.mean.size() == 3 && ds.info.std.size() == 3, "mean/std per channel");
    kdprune_fuzz::accepted(section.name + ": " + std::to_string(ds.train.n) + " train, " + std::to_string(ds.test.n) + " test");
  } catch (const Error& e) {
    kdprune_fuzz::refused(e);
  }
  return 0;
}
