#pragma once
// A loaded dataset as tensors on the training device: uint8 N×C×H×W images (normalised per batch,
// so the device holds 1 byte per pixel) and int64 labels.
#include <torch/torch.h>

#include "kdprune/data/raw_dataset.h"

namespace kdprune::data {

struct TensorSplit {
  torch::Tensor images;  // uint8, N×C×H×W; 0×C×H×W when streamed
  torch::Tensor labels;  // int64, N
  // Set when images are decoded per batch from files (data.imagefolder.stream): read them with
  // stream_images, not from `images`.
  std::shared_ptr<const ImageStream> stream;
  int64_t size() const { return labels.size(0); }
};

// A streamed split's uint8 images of samples `indices` (int64, any device) on `device`: training
// views of `epoch` (augment) or the evaluation transform. Where a file failed to decode, its slot
// holds another sample (ImageStream::batch), whose label goes with it: then `substituted` is set
// and `samples` (int64, on `device`) are the samples the images are of (else undefined: `indices`).
struct StreamedBatch {
  torch::Tensor images, samples;
  bool substituted = false;  // some slot holds another sample than asked for
};
StreamedBatch stream_images(const ImageStream& stream, const torch::Tensor& indices, bool augment, uint64_t seed,
                            int64_t epoch, const torch::Device& device);
// The model-input uint8 images of samples `indices` of `split` without augmentation: an index
// into the decoded images, or the evaluation transform of a streamed split (where a file that
// fails to decode is another sample's image: see StreamedBatch).
torch::Tensor plain_images(const TensorSplit& split, const torch::Tensor& indices);

struct TensorDataset {
  DatasetInfo info;
  TensorSplit train, test;
  int64_t channels() const { return train.images.size(1); }
};

// Moves the raw buffers into tensors without a copy, then to `device`.
TensorDataset to_tensors(RawDataset&& raw, const torch::Device& device);

// uint8 images -> float, scaled to [0,1] and normalised with the dataset's mean/std, as one fused
// multiply-add per pixel. Build it once per loop: it holds the per-channel constants on the device.
class Normalizer {
 public:
  Normalizer(const DatasetInfo& info, const torch::Device& device);
  torch::Tensor operator()(const torch::Tensor& images_u8) const;

 private:
  torch::Tensor scale_, shift_;  // 1×C×1×1 float32: x·scale − shift == (x/255 − mean)/std
};

// One-off convenience (tests, tools); loops use a Normalizer.
torch::Tensor normalise(const torch::Tensor& images_u8, const DatasetInfo& info);

}  // namespace kdprune::data
