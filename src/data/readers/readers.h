#pragma once
// One loader per format; registered by name in registry.cpp.
#include <string>
#include <vector>

#include "kdprune/config/config.h"
#include "kdprune/data/raw_dataset.h"

namespace kdprune::data {

// The first of dirs×names that exists; otherwise a kdprune::Error listing every path tried.
std::string locate(const std::string& what, const std::vector<std::string>& dirs,
                   const std::vector<std::string>& names);
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
