// CIFAR-10/100 binary versions: fixed-size records of label byte(s) + 3072 pixel bytes (R, G, B
// planes of 32×32), which is already C×H×W. The python versions (cifar_pickle.cpp) hold the same
// pixels in the same order; the binary version is used where both are present.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kdprune/util/error.h"
#include "readers.h"

namespace kdprune::data {
namespace {
constexpr int64_t kPixels = 3 * 32 * 32;

std::vector<std::string> read_names(const std::string& path) {
  std::vector<std::string> names;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  return names;
}

std::vector<std::string> default_names(int64_t classes) {
  std::vector<std::string> v;
  for (int64_t i = 0; i < classes; ++i) v.push_back(std::to_string(i));
  return v;
}
}  // namespace

ImageSplit read_cifar_bin(const std::vector<std::string>& files, int64_t label_bytes, int64_t label_index,
                          int64_t classes) {
  const int64_t record = label_bytes + kPixels;
  ImageSplit s;
  s.c = 3;
  s.h = 32;
  s.w = 32;
  for (const auto& path : files) {
    const std::string b = read_whole_file(path);
    if (b.empty() || b.size() % static_cast<size_t>(record) != 0)
      throw Error("'" + path + "': size " + std::to_string(b.size()) + " is not a positive multiple of the " +
                  std::to_string(record) + "-byte record (truncated or not a CIFAR binary file)");
    const int64_t n = static_cast<int64_t>(b.size()) / record;
    s.images.reserve(static_cast<size_t>((s.n + n) * kPixels));
    for (int64_t i = 0; i < n; ++i) {
      const char* r = b.data() + i * record;
      const int64_t y = static_cast<unsigned char>(r[label_index]);
      if (y >= classes)
        throw Error("'" + path + "': record " + std::to_string(i) + " has label " + std::to_string(y) +
                    ", expected 0.." + std::to_string(classes - 1));
      s.labels.push_back(y);
      s.images.insert(s.images.end(), r + label_bytes, r + record);
    }
    s.n += n;
  }
  return s;
}

namespace {
const std::string kCifarSite = "https://www.cs.toronto.edu/~kriz/cifar.html";

DatasetFiles cifar10_files() {
  std::vector<std::vector<std::string>> bin, py;
  for (int i = 1; i <= 5; ++i) {
    bin.push_back({"data_batch_" + std::to_string(i) + ".bin"});
    py.push_back({"data_batch_" + std::to_string(i)});
  }
  bin.push_back({"test_batch.bin"});
  py.push_back({"test_batch"});
  return {"CIFAR-10",
          {{"the binary version", bin}, {"torchvision's python version", py}},
          "download cifar-10-binary.tar.gz or cifar-10-python.tar.gz from " + kCifarSite +
              " and extract it (torchvision.datasets.CIFAR10(root, download=True) extracts the python version into "
              "root/cifar-10-batches-py)"};
}

DatasetFiles cifar100_files() {
  return {"CIFAR-100",
          {{"the binary version", {{"train.bin"}, {"test.bin"}}}, {"torchvision's python version", {{"train"}, {"test"}}}},
          "download cifar-100-binary.tar.gz or cifar-100-python.tar.gz from " + kCifarSite +
              " and extract it (torchvision.datasets.CIFAR100(root, download=True) extracts the python version into "
              "root/cifar-100-python)"};
}
}  // namespace

RawDataset load_cifar10(const DataSection& data, int64_t) {
  const auto dirs = candidate_dirs(data.root, "data/cifar10", {"cifar-10-batches-bin", "cifar-10-batches-py"});
  const auto found = find_layout(cifar10_files(), data, dirs);
  const std::vector<std::string> train(found.paths.begin(), found.paths.begin() + 5);
  const std::string& test = found.paths.back();
  const auto dir = std::filesystem::path(found.dir);
  RawDataset ds;
  std::vector<std::string> names;
  if (found.layout == 1) {  // torchvision's order: data_batch_1..5, then test_batch
    ds.train = read_cifar_pickle(train, "labels", 10);
    ds.test = read_cifar_pickle({test}, "labels", 10);
    ds.source = dir.string() + " (python version)";
    if (std::filesystem::exists(dir / "batches.meta")) names = read_cifar_pickle_names((dir / "batches.meta").string(), "label_names");
  } else {
    ds.train = read_cifar_bin(train, 1, 0, 10);
    ds.test = read_cifar_bin({test}, 1, 0, 10);
    ds.source = dir.string();
    names = read_names((dir / "batches.meta.txt").string());
  }
  if (names.size() != 10)
    names = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  ds.info = {"cifar10", 10, {0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}, true, names};
  return ds;
}

RawDataset load_cifar100(const DataSection& data, int64_t) {
  const auto dirs = candidate_dirs(data.root, "data/cifar100", {"cifar-100-binary", "cifar-100-python"});
  const auto found = find_layout(cifar100_files(), data, dirs);
  const auto dir = std::filesystem::path(found.dir);
  RawDataset ds;
  std::vector<std::string> names;
  if (found.layout == 1) {
    ds.train = read_cifar_pickle({found.paths[0]}, "fine_labels", 100);
    ds.test = read_cifar_pickle({found.paths[1]}, "fine_labels", 100);
    ds.source = dir.string() + " (python version)";
    if (std::filesystem::exists(dir / "meta")) names = read_cifar_pickle_names((dir / "meta").string(), "fine_label_names");
  } else {
    ds.train = read_cifar_bin({found.paths[0]}, 2, 1, 100);  // byte 0 coarse label, byte 1 fine label
    ds.test = read_cifar_bin({found.paths[1]}, 2, 1, 100);
    ds.source = dir.string();
    names = read_names((dir / "fine_label_names.txt").string());
  }
  if (names.size() != 100) names = default_names(100);
  ds.info = {"cifar100", 100, {0.5071f, 0.4867f, 0.4408f}, {0.2675f, 0.2565f, 0.2761f}, true, names};
  return ds;
}

}  // namespace kdprune::data
