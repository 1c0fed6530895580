// IDX files (MNIST, Fashion-MNIST): magic 00 00 08 NDIM, big-endian uint32 sizes, raw bytes.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "kdprune/util/error.h"
#include "readers.h"

namespace kdprune::data {
namespace {

struct Idx {
  std::vector<int64_t> dims;
  std::string bytes;
  size_t offset = 0;
};

Idx parse_idx(const std::string& path, int ndim_expected) {
  Idx idx;
  idx.bytes = read_whole_file(path);
  const auto& b = idx.bytes;
  auto u8 = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(b[i])); };
  if (b.size() < 4 || u8(0) != 0 || u8(1) != 0)
    throw Error("'" + path + "': not an IDX file (bad magic)");
  if (u8(2) != 0x08) {
    char type[8];
    std::snprintf(type, sizeof type, "0x%02X", static_cast<unsigned>(u8(2)));
    throw Error("'" + path + "': IDX data type " + type + ", expected 0x08 (unsigned byte)");
  }
  const int ndim = static_cast<int>(u8(3));
  if (ndim != ndim_expected)
    throw Error("'" + path + "': IDX file has " + std::to_string(ndim) + " dimensions, expected " + std::to_string(ndim_expected));
  idx.offset = 4 + 4 * static_cast<size_t>(ndim);
  if (b.size() < idx.offset) throw Error("'" + path + "': truncated IDX header");
  size_t total = 1;
  for (int d = 0; d < ndim; ++d) {
    const size_t o = 4 + 4 * static_cast<size_t>(d);
    const int64_t size = (u8(o) << 24) | (u8(o + 1) << 16) | (u8(o + 2) << 8) | u8(o + 3);
    idx.dims.push_back(size);
    // The file size bounds the product; stop before it can overflow.
    if (size != 0 && total > (b.size() - idx.offset) / static_cast<size_t>(size))
      throw Error("'" + path + "': truncated: the header's sizes need more data bytes than the file's " +
                  std::to_string(b.size() - idx.offset));
    total *= static_cast<size_t>(size);
  }
  if (b.size() != idx.offset + total)
    throw Error("'" + path + "': " + (b.size() < idx.offset + total ? "truncated" : "trailing bytes") +
                ": header promises " + std::to_string(total) + " data bytes, file has " +
                std::to_string(b.size() - idx.offset));
  return idx;
}

}  // namespace

ImageSplit read_idx(const std::string& images_path, const std::string& labels_path, int64_t classes) {
  Idx img = parse_idx(images_path, 3);
  Idx lab = parse_idx(labels_path, 1);
  if (img.dims[0] != lab.dims[0])
    throw Error("'" + labels_path + "': " + std::to_string(lab.dims[0]) + " labels for " +
                std::to_string(img.dims[0]) + " images in '" + images_path + "'");
  ImageSplit s;
  s.n = img.dims[0];
  s.c = 1;
  s.h = img.dims[1];
  s.w = img.dims[2];
  s.images.assign(img.bytes.begin() + static_cast<std::ptrdiff_t>(img.offset), img.bytes.end());
  s.labels.resize(static_cast<size_t>(s.n));
  for (int64_t i = 0; i < s.n; ++i) {
    const int64_t y = static_cast<unsigned char>(lab.bytes[lab.offset + static_cast<size_t>(i)]);
    if (y >= classes)
      throw Error("'" + labels_path + "': label " + std::to_string(y) + " of item " + std::to_string(i) +
                  " is out of range 0.." + std::to_string(classes - 1));
    s.labels[static_cast<size_t>(i)] = y;
  }
  return s;
}

namespace {
RawDataset load_idx_dataset(const DataSection& data, const std::string& fallback, DatasetInfo info,
                            const std::string& torchvision_folder, const std::string& source) {
  // torchvision's download keeps the .gz files (and their extraction) in root/<Name>/raw.
  const auto dirs = candidate_dirs(data.root, fallback, {info.name, torchvision_folder + "/raw"});
  std::vector<std::vector<std::string>> files;
  for (const char* stem : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    files.push_back({std::string(stem) + ".gz", stem});
  const auto found = find_layout({info.name == "mnist" ? "MNIST" : "Fashion-MNIST", {{"the IDX files (gzip or plain)", files}}, source},
                                 data, dirs);
  RawDataset ds;
  ds.train = read_idx(found.paths[0], found.paths[1], info.classes);
  ds.test = read_idx(found.paths[2], found.paths[3], info.classes);
  ds.source = found.dir;
  ds.info = std::move(info);
  return ds;
}
}  // namespace

RawDataset load_fashion_mnist(const DataSection& data, int64_t) {
  const char* env = std::getenv("KDPRUNE_FASHION_MNIST");
  return load_idx_dataset(data, env && *env ? env : "/usr/share/datasets/fashion-mnist",
                          {"fashion-mnist", 10, {0.2860f}, {0.3530f}, true,
                           {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                            "Sneaker", "Bag", "Ankle boot"}},
                          "FashionMNIST",
                          "install Debian's dataset-fashion-mnist (apt install dataset-fashion-mnist) or download the four "
                          ".gz files from https://github.com/zalando-research/fashion-mnist (torchvision.datasets.FashionMNIST("
                          "root, download=True) saves them in root/FashionMNIST/raw)");
}

RawDataset load_mnist(const DataSection& data, int64_t) {
  return load_idx_dataset(data, "data/mnist",
                          {"mnist", 10, {0.1307f}, {0.3081f}, false, {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
                          "MNIST",
                          "download the four .gz files from https://yann.lecun.com/exdb/mnist/ (torchvision.datasets.MNIST("
                          "root, download=True) saves them in root/MNIST/raw)");
}

}  // namespace kdprune::data
