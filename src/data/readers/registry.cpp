#include "kdprune/data/dataset_registry.h"
#include "kdprune/util/error.h"
#include "readers.h"

namespace kdprune::data {

const std::vector<DatasetEntry>& dataset_registry() {
  static const std::vector<DatasetEntry> entries = {
      {"fashion-mnist", "Fashion-MNIST, gzip IDX (default: Debian's dataset-fashion-mnist)", &load_fashion_mnist},
      {"mnist", "MNIST digits, IDX (plain or .gz)", &load_mnist},
      {"cifar10", "CIFAR-10 binary version (data_batch_1..5.bin, test_batch.bin)", &load_cifar10},
      {"cifar100", "CIFAR-100 binary version (train.bin, test.bin; fine labels)", &load_cifar100},
      {"svhn", "SVHN cropped digits (train_32x32.mat, test_32x32.mat)", &load_svhn},
      {"synthetic", "seeded class-prototype images of any size (data.synthetic.*)", &load_synthetic},
  };
  return entries;
}

std::vector<int64_t> class_counts(const ImageSplit& split, int64_t classes) {
  std::vector<int64_t> counts(static_cast<size_t>(classes), 0);
  for (int64_t y : split.labels) ++counts[static_cast<size_t>(y)];
  return counts;
}

RawDataset load_dataset(const DataSection& data, int64_t seed) {
  for (const auto& e : dataset_registry())
    if (e.name == data.name) return e.load(data, seed);
  std::string known;
  for (const auto& e : dataset_registry()) known += (known.empty() ? "" : ", ") + e.name;
  throw Error("data.name: unknown dataset '" + data.name + "' (expected one of: " + known + ")");
}

}  // namespace kdprune::data
