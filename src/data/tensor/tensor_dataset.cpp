#include "kdprune/data/tensor_dataset.h"

namespace kdprune::data {
namespace {
TensorSplit to_split(ImageSplit&& s, const torch::Device& device) {
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

TensorDataset to_tensors(RawDataset&& raw, const torch::Device& device) {
  TensorDataset d;
  d.train = to_split(std::move(raw.train), device);
  d.test = to_split(std::move(raw.test), device);
  d.info = std::move(raw.info);
  return d;
}

torch::Tensor normalise(const torch::Tensor& images_u8, const DatasetInfo& info) {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(images_u8.device());
  const auto c = static_cast<int64_t>(info.mean.size());
  // (x/255 - mean)/std  ==  x * (1/(255 std)) - mean/std, one fused multiply-add per pixel
  auto scale = torch::tensor(std::vector<float>(info.std.begin(), info.std.end()), opts).reciprocal().div_(255.0f);
  auto shift = torch::tensor(std::vector<float>(info.mean.begin(), info.mean.end()), opts) /
               torch::tensor(std::vector<float>(info.std.begin(), info.std.end()), opts);
  return torch::addcmul(-shift.view({1, c, 1, 1}), images_u8.to(torch::kFloat32), scale.view({1, c, 1, 1}));
}

}  // namespace kdprune::data
