#pragma once
// A dataset as loaded from disk, before it becomes tensors: uint8 images in N×C×H×W order and
// int64 labels. Kept torch-free so the readers build and test quickly.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kdprune::data {

class ImageStream;

struct ImageSplit {
  int64_t n = 0, c = 0, h = 0, w = 0;
  std::vector<uint8_t> images;  // n*c*h*w bytes, N×C×H×W row-major (empty when streamed)
  std::vector<int64_t> labels;  // n values in [0, classes)
  // Set when the images are decoded per batch from their files (data.imagefolder.stream).
  std::shared_ptr<const ImageStream> stream;
};

struct DatasetInfo {
  std::string name;
  int64_t classes = 0;
  std::vector<float> mean, std;  // per channel, for normalisation of x/255
  bool flip = false;              // horizontal flips are label-preserving
  std::vector<std::string> class_names;
  // Image files the training samples came from, by index (imagefolder; written to samples.txt);
  // empty for datasets stored as arrays.
  std::vector<std::string> train_files;
};

struct RawDataset {
  DatasetInfo info;
  ImageSplit train, test;
  std::string source;  // where it was read from (a folder, or "synthetic(...)")
};

// Class histogram of a split (length = classes).
std::vector<int64_t> class_counts(const ImageSplit& split, int64_t classes);

}  // namespace kdprune::data
