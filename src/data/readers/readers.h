#pragma once
// One loader per format; registered by name in registry.cpp.
#include <string>
#include <vector>

#include "kdprune/config/config.h"
#include "kdprune/data/raw_dataset.h"

namespace kdprune::data {

// One way a dataset's files lie on disk: an official release or torchvision's download.
struct FileLayout {
  std::string name;                             // "the binary version", "torchvision's python version"
  std::vector<std::vector<std::string>> files;  // every file the layout needs, each by its accepted names
};
// What a dataset needs: its name in messages, its layouts, and where its files come from.
struct DatasetFiles {
  std::string dataset;               // "CIFAR-100"
  std::vector<FileLayout> layouts;   // tried in order in each folder
  std::string source;                // "download ... from https://..., or ..."
};
struct FoundLayout {
  size_t layout = 0;               // index into DatasetFiles::layouts
  std::string dir;                 // the folder holding them
  std::vector<std::string> paths;  // one per file of the layout
};
// The first folder of `dirs` holding every file of a layout (layouts tried in order in each
// folder); otherwise a one-line kdprune::Error naming the layouts and their files, every folder
// tried as an absolute path (and that the default is relative to the current directory), the
// closest partial match, and where the files come from.
FoundLayout find_layout(const DatasetFiles& want, const DataSection& data, const std::vector<std::string>& dirs);
// data.root if given, else `fallback`; plus `root/subdir` for archives that extract to a folder.
std::vector<std::string> candidate_dirs(const std::string& root, const std::string& fallback,
                                        const std::vector<std::string>& subdirs);
std::string read_whole_file(const std::string& path);  // gzip-compressed or plain

ImageSplit read_idx(const std::string& images_path, const std::string& labels_path, int64_t classes);
ImageSplit read_cifar_bin(const std::vector<std::string>& files, int64_t label_bytes, int64_t label_index, int64_t classes);
// CIFAR python version (torchvision's download): pickled batches, labels under `label_key`.
ImageSplit read_cifar_pickle(const std::vector<std::string>& files, const std::string& label_key, int64_t classes);
// The list of names under `key` of a pickled meta file (batches.meta, meta); empty if absent.
std::vector<std::string> read_cifar_pickle_names(const std::string& path, const std::string& key);
ImageSplit read_svhn_mat(const std::string& path);
// Refuses a MATLAB file that is not v5 or whose element headers claim more than it holds, before
// matio allocates what they claim (mat_v5_check.cpp).
void check_mat_v5(const std::string& path);
ImageSplit make_synthetic(const SyntheticSection& s, int64_t seed, bool test);

RawDataset load_fashion_mnist(const DataSection& data, int64_t seed);
RawDataset load_mnist(const DataSection& data, int64_t seed);
RawDataset load_cifar10(const DataSection& data, int64_t seed);
RawDataset load_cifar100(const DataSection& data, int64_t seed);
RawDataset load_svhn(const DataSection& data, int64_t seed);
RawDataset load_synthetic(const DataSection& data, int64_t seed);
RawDataset load_image_folder(const DataSection& data, int64_t seed);

}  // namespace kdprune::data
