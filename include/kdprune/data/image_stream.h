#pragma once
// Images decoded batch by batch from their files (data.imagefolder.stream), for sets too large to
// hold decoded (ImageNet: 1.28 M images at 224² are 193 GB): torchvision's ImageNet training
// transform (RandomResizedCrop(size) + RandomHorizontalFlip) or its evaluation transform
// (Resize(eval_resize) + CenterCrop(size)), on worker threads. A training view is a pure function
// of (seed, epoch, sample index): the same whatever the batch, rank or thread that decodes it.
// Torch-free.
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace kdprune::data {

struct StreamSettings {
  int64_t size = 224;         // output size×size (the training crop, and the evaluation centre crop)
  int64_t eval_resize = 256;  // evaluation: the shorter side resized to this first
  int64_t max_bad = 0;        // files that fail to decode, over the run: more stop it
  int64_t threads = 0;        // decoding threads per batch; 0 = the machine's cores (at most 16)
};

class ImageStream {
 public:
  ImageStream(std::vector<std::string> files, const StreamSettings& settings);

  int64_t size() const { return static_cast<int64_t>(files_.size()); }
  const StreamSettings& settings() const { return settings_; }
  const std::string& file(int64_t i) const { return files_[static_cast<size_t>(i)]; }

  // n×3×size×size bytes into `out`: sample indices[k] as a training view (augment) or through the
  // evaluation transform (not augment). Returns the sample each slot holds: indices[k], except
  // where a file failed to decode: it is reported with its path, and its slot takes the first
  // sample of the batch that decoded (or, if none did, the next one after it in the split that
  // does), whose index the caller must use for the label. Once more than max_bad files of this
  // split have failed, kdprune::Error naming the file. An index out of range is an Error at once.
  std::vector<int64_t> batch(const int64_t* indices, int64_t n, bool augment, uint64_t seed, int64_t epoch,
                             uint8_t* out) const;

  int64_t failures() const;  // files that failed to decode so far

 private:
  std::vector<uint8_t> view(int64_t i, bool augment, uint64_t seed, int64_t epoch) const;  // C×size×size
  void count_failure(int64_t i, const std::string& why) const;  // Error past max_bad
  std::vector<std::string> files_;
  StreamSettings settings_;
  mutable std::mutex mu_;
  mutable std::set<int64_t> bad_;
};

}  // namespace kdprune::data
