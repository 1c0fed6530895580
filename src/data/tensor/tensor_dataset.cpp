#include "kdprune/data/tensor_dataset.h"

#include "kdprune/data/image_stream.h"

#include <algorithm>

namespace kdprune::data {
namespace {
TensorSplit to_split(ImageSplit&& s, const torch::Device& device) {
  if (s.stream) {
    TensorSplit t;
    t.images = torch::empty({0, s.c, s.h, s.w}, torch::TensorOptions().dtype(torch::kUInt8).device(device));
    t.labels = torch::tensor(s.labels, torch::kInt64).to(device);
    t.stream = std::move(s.stream);
    return t;
  }
  auto* images = new std::vector<uint8_t>(std::move(s.images));
  auto* labels = new std::vector<int64_t>(std::move(s.labels));
  TensorSplit t;
  t.images = torch::from_blob(images->data(), {s.n, s.c, s.h, s.w},
                              [images](void*) { delete images; }, torch::kUInt8);
  t.labels = torch::from_blob(labels->data(), {s.n}, [labels](void*) { delete labels; }, torch::kInt64);
  if (device != torch::Device(torch::kCPU)) {
    t.images = t.images.to(device);
    t.labels = t.labels.to(device);
  }
  return t;
}
}  // namespace

StreamedBatch stream_images(const ImageStream& stream, const torch::Tensor& indices, bool augment, uint64_t seed,
                            int64_t epoch, const torch::Device& device) {
  const auto idx = indices.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t s = stream.settings().size;
  // Pinned host memory for a GPU: the copy is asynchronous on the training stream (ordered after
  // the step before; ~1 ms per 20 MB), the decoding itself runs ahead on the host.
  auto out = torch::empty({idx.numel(), 3, s, s},
                          torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(device.is_cuda()));
  const auto held = stream.batch(idx.data_ptr<int64_t>(), idx.numel(), augment, seed, epoch, out.data_ptr<uint8_t>());
  StreamedBatch b;
  b.substituted = !std::equal(held.begin(), held.end(), idx.data_ptr<int64_t>());
  b.images = device.is_cpu() ? out : out.to(device, /*non_blocking=*/true);
  if (b.substituted) b.samples = torch::tensor(held, torch::kInt64).to(device);
  return b;
}

torch::Tensor plain_images(const TensorSplit& split, const torch::Tensor& indices) {
  if (split.stream) return stream_images(*split.stream, indices, false, 0, 0, split.labels.device()).images;
  return split.images.index_select(0, indices.to(split.images.device()));
}

TensorDataset to_tensors(RawDataset&& raw, const torch::Device& device) {
  TensorDataset d;
  d.train = to_split(std::move(raw.train), device);
  d.test = to_split(std::move(raw.test), device);
  d.info = std::move(raw.info);
  return d;
}

Normalizer::Normalizer(const DatasetInfo& info, const torch::Device& device) {
  const auto c = static_cast<int64_t>(info.mean.size());
  const auto mean = torch::tensor(info.mean, torch::kFloat32), std = torch::tensor(info.std, torch::kFloat32);
  // (x/255 - mean)/std  ==  x * (1/(255 std)) - mean/std
  scale_ = std.reciprocal().div_(255.0f).view({1, c, 1, 1}).to(device);
  shift_ = (mean / std).view({1, c, 1, 1}).to(device);
}

torch::Tensor Normalizer::operator()(const torch::Tensor& images_u8) const {
  return torch::addcmul(-shift_, images_u8.to(torch::kFloat32), scale_);
}

torch::Tensor normalise(const torch::Tensor& images_u8, const DatasetInfo& info) {
  return Normalizer(info, images_u8.device())(images_u8);
}

}  // namespace kdprune::data
