#include "kdprune/data/dataset_registry.h"
#include "kdprune/util/error.h"
#include "readers.h"

namespace kdprune::data {

const std::vector<DatasetEntry>& dataset_registry() {
  static const std::vector<DatasetEntry> entries = {
      {"fashion-mnist", "Fashion-MNIST, gzip IDX (default: Debian's dataset-fashion-mnist)", &load_fashion_mnist},
      {"mnist", "MNIST digits, IDX (plain or .gz)", &load_mnist},
      {"cifar10", "CIFAR-10, binary (data_batch_1..5.bin, test_batch.bin) or python version (cifar-10-batches-py)", &load_cifar10},
      {"cifar100", "CIFAR-100, binary (train.bin, test.bin) or python version (cifar-100-python); fine labels", &load_cifar100},
      {"svhn", "SVHN cropped digits (train_32x32.mat, test_32x32.mat)", &load_svhn},
      {"synthetic", "seeded class-prototype images of any size (data.synthetic.*)", &load_synthetic},
      {"imagefolder", "ImageFolder layout root/{train,val}/<class>/<image>, JPEG and PNG, resized once to data.imagefolder.size", &load_image_folder},
  };
  return entries;
}

std::vector<int64_t> class_counts(const ImageSplit& split, int64_t classes) {
  std::vector<int64_t> counts(static_cast<size_t>(classes), 0);
  for (int64_t y : split.labels) ++counts[static_cast<size_t>(y)];
  return counts;
}

namespace {
// What every reader must hand over, whatever its format: train and test images of one shape,
// a label per image, pixel bytes that match the sizes.
void check_splits(const RawDataset& ds) {
  auto shape = [](const ImageSplit& s) {
    return std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
  };
  for (const ImageSplit* s : {&ds.train, &ds.test}) {
    const char* which = s == &ds.train ? "train" : "test";
    if (s->n < 1) throw Error(ds.source + ": the " + std::string(which) + " split has no images");
    if (s->labels.size() != static_cast<size_t>(s->n) ||
        s->images.size() != (s->stream ? size_t{0} : static_cast<size_t>(s->n) * static_cast<size_t>(s->c * s->h * s->w)))
      throw Error(ds.source + ": the " + std::string(which) + " split's sizes do not match its data");
  }
  if (ds.train.c != ds.test.c || ds.train.h != ds.test.h || ds.train.w != ds.test.w)
    throw Error(ds.source + ": train images are " + shape(ds.train) + " but test images are " + shape(ds.test) +
                " (expected one image shape in both splits)");
}
}  // namespace

RawDataset load_dataset(const DataSection& data, int64_t seed) {
  for (const auto& e : dataset_registry())
    if (e.name == data.name) {
      RawDataset ds = e.load(data, seed);
      check_splits(ds);
      return ds;
    }
  std::string known;
  for (const auto& e : dataset_registry()) known += (known.empty() ? "" : ", ") + e.name;
  throw Error("data.name: unknown dataset '" + data.name + "' (expected one of: " + known + ")");
}

}  // namespace kdprune::data
