#include "kdprune/train/augment.h"

#include "kdprune/data/tensor_dataset.h"

namespace kdprune::train {

AugmentSpec augment_spec(const data::DatasetInfo& info, int64_t height, bool enabled) {
  if (!enabled) return {0, false};
  // 4 pixels for 32×32 (the CIFAR/SVHN recipe), 4 for 28×28 too; scaled for larger inputs.
  return {std::max<int64_t>(1, (height + 4) / 8), info.flip};
}

namespace {
torch::Tensor maybe(const torch::Tensor& t, auto&& f) { return t.defined() ? f(t) : t; }
}  // namespace

AugmentDraws AugmentDraws::to(const torch::Device& device) const {
  auto move = [&](const torch::Tensor& t) { return t.to(device); };
  return {maybe(oy, move), maybe(ox, move), maybe(flip, move)};
}

AugmentDraws AugmentDraws::index_select(const torch::Tensor& pos) const {
  auto pick = [&](const torch::Tensor& t) { return t.index_select(0, pos); };
  return {maybe(oy, pick), maybe(ox, pick), maybe(flip, pick)};
}

AugmentDraws AugmentDraws::slice(int64_t begin, int64_t end) const {
  auto cut = [&](const torch::Tensor& t) { return t.slice(0, begin, end); };
  return {maybe(oy, cut), maybe(ox, cut), maybe(flip, cut)};
}

AugmentDraws draw_augment(const AugmentSpec& spec, int64_t b, torch::Generator& gen) {
  AugmentDraws d;
  if (spec.pad > 0) {
    d.oy = torch::randint(0, 2 * spec.pad + 1, {b}, gen, torch::kInt64);
    d.ox = torch::randint(0, 2 * spec.pad + 1, {b}, gen, torch::kInt64);
  }
  if (spec.flip) d.flip = torch::rand({b}, gen) < 0.5;
  return d;
}

torch::Tensor apply_augment(const torch::Tensor& images, const AugmentDraws& draws, const data::Normalizer& normalise,
                            const AugmentSpec& spec) {
  torch::Tensor x = images;
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  if (spec.pad > 0) {
    const int64_t p = spec.pad;
    // Pad with the raw value 0 (a black border, as torchvision pads the PIL image), then take each
    // sample's window by gathering rows and columns.
    auto padded = torch::constant_pad_nd(x, {p, p, p, p}, 0);
    auto iopt = torch::TensorOptions().dtype(torch::kInt64).device(x.device());
    auto rows = draws.oy.view({b, 1}) + torch::arange(h, iopt).view({1, h});  // B×H
    auto cols = draws.ox.view({b, 1}) + torch::arange(w, iopt).view({1, w});  // B×W
    const int64_t C = x.size(1), Wp = w + 2 * p, Hp = h + 2 * p;
    // flat index into each padded image plane: row*Wp + col
    auto idx = (rows.view({b, h, 1}) * Wp + cols.view({b, 1, w})).view({b, 1, h * w}).expand({b, C, h * w});
    x = padded.view({b, C, Hp * Wp}).gather(2, idx).view({b, C, h, w});
  }
  if (spec.flip) x = torch::where(draws.flip.view({b, 1, 1, 1}), x.flip({3}), x);
  return normalise(x);
}

torch::Tensor augment_batch(const torch::Tensor& images, const data::Normalizer& normalise, const AugmentSpec& spec,
                            torch::Generator& gen) {
  return apply_augment(images, draw_augment(spec, images.size(0), gen).to(images.device()), normalise, spec);
}

}  // namespace kdprune::train
