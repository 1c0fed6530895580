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

// Whether `name` is a file in one of `dirs`.
bool present(const std::vector<std::string>& dirs, const std::string& name) {
  for (const auto& d : dirs) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(std::filesystem::path(d) / name, ec)) return true;
  }
  return false;
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

RawDataset load_cifar10(const DataSection& data, int64_t) {
  const auto dirs = candidate_dirs(data.root, "data/cifar10", {"cifar-10-batches-bin", "cifar-10-batches-py"});
  if (!present(dirs, "test_batch.bin") && present(dirs, "test_batch")) {
    // torchvision's order: data_batch_1..5, then test_batch.
    std::vector<std::string> train;
    for (int i = 1; i <= 5; ++i) {
      const std::string name = "data_batch_" + std::to_string(i);
      train.push_back(locate("CIFAR-10 file " + name, dirs, {name}));
    }
    const std::string test = locate("CIFAR-10 file test_batch", dirs, {"test_batch"});
    const auto dir = std::filesystem::path(test).parent_path();
    RawDataset ds;
    ds.train = read_cifar_pickle(train, "labels", 10);
    ds.test = read_cifar_pickle({test}, "labels", 10);
    ds.source = dir.string() + " (python version)";
    auto names = std::filesystem::exists(dir / "batches.meta") ? read_cifar_pickle_names((dir / "batches.meta").string(), "label_names")
                                                               : std::vector<std::string>{};
    if (names.size() != 10)
      names = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
    ds.info = {"cifar10", 10, {0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}, true, names};
    return ds;
  }
  std::vector<std::string> train;
  for (int i = 1; i <= 5; ++i) {
    const std::string name = "data_batch_" + std::to_string(i) + ".bin";
    train.push_back(locate("CIFAR-10 file " + name, dirs, {name}));
  }
  const std::string test =
      locate("CIFAR-10 file test_batch.bin (binary version) or test_batch (python version)", dirs, {"test_batch.bin", "test_batch"});
  const auto dir = std::filesystem::path(test).parent_path();
  RawDataset ds;
  ds.train = read_cifar_bin(train, 1, 0, 10);
  ds.test = read_cifar_bin({test}, 1, 0, 10);
  ds.source = dir.string();
  auto names = read_names((dir / "batches.meta.txt").string());
  if (names.size() != 10)
    names = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  ds.info = {"cifar10", 10, {0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}, true, names};
  return ds;
}

RawDataset load_cifar100(const DataSection& data, int64_t) {
  const auto dirs = candidate_dirs(data.root, "data/cifar100", {"cifar-100-binary", "cifar-100-python"});
  if (!present(dirs, "test.bin") && present(dirs, "test")) {
    const std::string train = locate("CIFAR-100 file train", dirs, {"train"});
    const std::string test = locate("CIFAR-100 file test", dirs, {"test"});
    const auto dir = std::filesystem::path(test).parent_path();
    RawDataset ds;
    ds.train = read_cifar_pickle({train}, "fine_labels", 100);
    ds.test = read_cifar_pickle({test}, "fine_labels", 100);
    ds.source = dir.string() + " (python version)";
    auto names = std::filesystem::exists(dir / "meta") ? read_cifar_pickle_names((dir / "meta").string(), "fine_label_names")
                                                       : std::vector<std::string>{};
    if (names.size() != 100) names = default_names(100);
    ds.info = {"cifar100", 100, {0.5071f, 0.4867f, 0.4408f}, {0.2675f, 0.2565f, 0.2761f}, true, names};
    return ds;
  }
  const std::string train = locate("CIFAR-100 file train.bin", dirs, {"train.bin"});
  const std::string test =
      locate("CIFAR-100 file test.bin (binary version) or test (python version)", dirs, {"test.bin", "test"});
  const auto dir = std::filesystem::path(test).parent_path();
  RawDataset ds;
  ds.train = read_cifar_bin({train}, 2, 1, 100);  // byte 0 coarse label, byte 1 fine label
  ds.test = read_cifar_bin({test}, 2, 1, 100);
  ds.source = dir.string();
  auto names = read_names((dir / "fine_label_names.txt").string());
  if (names.size() != 100) names = default_names(100);
  ds.info = {"cifar100", 100, {0.5071f, 0.4867f, 0.4408f}, {0.2675f, 0.2565f, 0.2761f}, true, names};
  return ds;
}

}  // namespace kdprune::data
