#include "kdprune/train/augment.h"

#include "kdprune/data/tensor_dataset.h"

namespace kdprune::train {

AugmentSpec augment_spec(const data::DatasetInfo& info, int64_t height, bool enabled) {
  if (!enabled) return {0, false};
  // 4 pixels for 32×32 (the CIFAR/SVHN recipe), 4 for 28×28 too; scaled for larger inputs.
  return {std::max<int64_t>(1, (height + 4) / 8), info.flip};
}

torch::Tensor augment_batch(const torch::Tensor& images, const data::Normalizer& normalise, const AugmentSpec& spec,
                            torch::Generator& gen) {
  torch::Tensor x = images;
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  const auto dev = x.device();
  if (spec.pad > 0) {
    const int64_t p = spec.pad;
    // Pad with the raw value 0 (a black border, as torchvision pads the PIL image), then take each
    // sample's window by gathering rows and columns.
    auto padded = torch::constant_pad_nd(x, {p, p, p, p}, 0);
    auto oy = torch::randint(0, 2 * p + 1, {b}, gen, torch::kInt64).to(dev);
    auto ox = torch::randint(0, 2 * p + 1, {b}, gen, torch::kInt64).to(dev);
    auto iopt = torch::TensorOptions().dtype(torch::kInt64).device(dev);
    auto rows = oy.view({b, 1}) + torch::arange(h, iopt).view({1, h});  // B×H
    auto cols = ox.view({b, 1}) + torch::arange(w, iopt).view({1, w});  // B×W
    const int64_t C = x.size(1), Wp = w + 2 * p, Hp = h + 2 * p;
    // flat index into each padded image plane: row*Wp + col
    auto idx = (rows.view({b, h, 1}) * Wp + cols.view({b, 1, w})).view({b, 1, h * w}).expand({b, C, h * w});
    x = padded.view({b, C, Hp * Wp}).gather(2, idx).view({b, C, h, w});
  }
  if (spec.flip) {
    auto mask = (torch::rand({b}, gen) < 0.5).to(dev).view({b, 1, 1, 1});
    x = torch::where(mask, x.flip({3}), x);
  }
  return normalise(x);
}

}  // namespace kdprune::train
