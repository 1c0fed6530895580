// Pillow's bilinear resize (libImaging/Resample.c: precompute_coeffs, normalize_coeffs_8bpc,
// ImagingResampleHorizontal/Vertical_8bpc), bit for bit, and torchvision's Resize / CenterCrop
// sizes, so a cached imagefolder image equals what torchvision's eval transform gives before
// ToTensor.
#include <algorithm>
#include <cmath>

#include "image_io.h"
#include "kdprune/util/error.h"

namespace kdprune::data {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

struct Coeffs {
  int64_t ksize = 0;
  std::vector<int64_t> bounds;  // per output: first input, count
  std::vector<int32_t> k;       // per output: ksize fixed-point weights
};

Coeffs precompute(int64_t in_size, int64_t out_size) {
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;  // the bilinear filter's support is 1
  Coeffs c;
  c.ksize = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<size_t>(out_size * 2));
  c.k.assign(static_cast<size_t>(out_size * c.ksize), 0);
  std::vector<double> w(static_cast<size_t>(c.ksize));
  for (int64_t xx = 0; xx < out_size; ++xx) {
    const double center = (static_cast<double>(xx) + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int64_t xmin = static_cast<int64_t>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int64_t xmax = static_cast<int64_t>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0;
    for (int64_t x = 0; x < xmax; ++x) {
      const double t = std::fabs((static_cast<double>(x + xmin) - center + 0.5) * ss);
      w[static_cast<size_t>(x)] = t < 1.0 ? 1.0 - t : 0.0;
      ww += w[static_cast<size_t>(x)];
    }
    for (int64_t x = 0; x < xmax; ++x) {
      const double v = ww != 0.0 ? w[static_cast<size_t>(x)] / ww : w[static_cast<size_t>(x)];
      c.k[static_cast<size_t>(xx * c.ksize + x)] =
          static_cast<int32_t>(v < 0 ? -0.5 + v * (1 << kPrecisionBits) : 0.5 + v * (1 << kPrecisionBits));
    }
    c.bounds[static_cast<size_t>(xx * 2)] = xmin;
    c.bounds[static_cast<size_t>(xx * 2 + 1)] = xmax;
  }
  return c;
}

uint8_t clip8(int64_t v) {
  if (v >= (int64_t{1} << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return static_cast<uint8_t>(v >> kPrecisionBits);
}

// One pass along an axis of an H×W×3 image: `horizontal` resamples x, else y.
RgbImage resample(const RgbImage& in, int64_t out_size, bool horizontal) {
  const int64_t in_size = horizontal ? in.w : in.h;
  const Coeffs c = precompute(in_size, out_size);
  RgbImage out;
  out.h = horizontal ? in.h : out_size;
  out.w = horizontal ? out_size : in.w;
  out.pixels.resize(static_cast<size_t>(out.h * out.w * 3));
  for (int64_t y = 0; y < out.h; ++y)
    for (int64_t x = 0; x < out.w; ++x) {
      const int64_t o = horizontal ? x : y;
      const int64_t first = c.bounds[static_cast<size_t>(o * 2)], count = c.bounds[static_cast<size_t>(o * 2 + 1)];
      const int32_t* k = &c.k[static_cast<size_t>(o * c.ksize)];
      for (int ch = 0; ch < 3; ++ch) {
        int64_t ss = int64_t{1} << (kPrecisionBits - 1);
        for (int64_t i = 0; i < count; ++i) {
          const int64_t sy = horizontal ? y : first + i, sx = horizontal ? first + i : x;
          ss += static_cast<int64_t>(in.pixels[static_cast<size_t>((sy * in.w + sx) * 3 + ch)]) * k[i];
        }
        out.pixels[static_cast<size_t>((y * out.w + x) * 3 + ch)] = clip8(ss);
      }
    }
  return out;
}

}  // namespace

std::vector<uint8_t> resize_centre_crop(const RgbImage& img, int64_t size) {
  if (img.h < 1 || img.w < 1) throw Error("resize: an empty image");
  // torchvision _compute_resized_output_size: the shorter side to size, the longer int(size·long/short).
  const bool wide = img.w > img.h;
  const int64_t short_side = wide ? img.h : img.w, long_side = wide ? img.w : img.h;
  const auto new_long = static_cast<int64_t>(static_cast<double>(size) * static_cast<double>(long_side) /
                                             static_cast<double>(short_side));
  const int64_t new_w = wide ? new_long : size, new_h = wide ? size : new_long;
  RgbImage r = img;
  if (new_w != r.w) r = resample(r, new_w, true);  // Pillow: horizontal pass first
  if (new_h != r.h) r = resample(r, new_h, false);
  // CenterCrop: int(round((H − size) / 2)), Python's round (half to even).
  const auto top = static_cast<int64_t>(std::nearbyint(static_cast<double>(r.h - size) / 2.0));
  const auto left = static_cast<int64_t>(std::nearbyint(static_cast<double>(r.w - size) / 2.0));
  std::vector<uint8_t> chw(static_cast<size_t>(3 * size * size));
  for (int ch = 0; ch < 3; ++ch)
    for (int64_t y = 0; y < size; ++y)
      for (int64_t x = 0; x < size; ++x)
        chw[static_cast<size_t>((ch * size + y) * size + x)] =
            r.pixels[static_cast<size_t>(((top + y) * r.w + left + x) * 3 + ch)];
  return chw;
}

}  // namespace kdprune::data
