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

// One pass along an axis of an H×W×3 image: `horizontal` resamples x, else y. Pillow's 32-bit
// accumulators (int32, half added first); the vertical pass runs over whole rows, so the compiler
// vectorises it.
RgbImage resample(const RgbImage& in, int64_t out_size, bool horizontal) {
  const int64_t in_size = horizontal ? in.w : in.h;
  const Coeffs c = precompute(in_size, out_size);
  RgbImage out;
  out.h = horizontal ? in.h : out_size;
  out.w = horizontal ? out_size : in.w;
  out.pixels.resize(static_cast<size_t>(out.h * out.w * 3));
  constexpr int32_t kHalf = int32_t{1} << (kPrecisionBits - 1);
  if (horizontal) {
    for (int64_t y = 0; y < out.h; ++y) {
      const uint8_t* row = in.pixels.data() + y * in.w * 3;
      uint8_t* o = out.pixels.data() + y * out.w * 3;
      for (int64_t x = 0; x < out.w; ++x) {
        const int64_t first = c.bounds[static_cast<size_t>(x * 2)], count = c.bounds[static_cast<size_t>(x * 2 + 1)];
        const int32_t* k = &c.k[static_cast<size_t>(x * c.ksize)];
        const uint8_t* p = row + first * 3;
        int32_t s0 = kHalf, s1 = kHalf, s2 = kHalf;
        for (int64_t i = 0; i < count; ++i) {
          s0 += p[i * 3] * k[i];
          s1 += p[i * 3 + 1] * k[i];
          s2 += p[i * 3 + 2] * k[i];
        }
        o[x * 3] = clip8(s0), o[x * 3 + 1] = clip8(s1), o[x * 3 + 2] = clip8(s2);
      }
    }
    return out;
  }
  const int64_t line = in.w * 3;
  std::vector<int32_t> acc(static_cast<size_t>(line));
  for (int64_t y = 0; y < out.h; ++y) {
    const int64_t first = c.bounds[static_cast<size_t>(y * 2)], count = c.bounds[static_cast<size_t>(y * 2 + 1)];
    const int32_t* k = &c.k[static_cast<size_t>(y * c.ksize)];
    std::fill(acc.begin(), acc.end(), kHalf);
    for (int64_t i = 0; i < count; ++i) {
      const uint8_t* row = in.pixels.data() + (first + i) * line;
      const int32_t ki = k[i];
      for (int64_t j = 0; j < line; ++j) acc[static_cast<size_t>(j)] += row[j] * ki;
    }
    uint8_t* o = out.pixels.data() + y * line;
    for (int64_t j = 0; j < line; ++j) o[j] = clip8(acc[static_cast<size_t>(j)]);
  }
  return out;
}

// Pillow's two-pass resize to out_w × out_h. Pillow 13 (libImaging/Resample.c,
// ImagingResampleInner) runs the vertical pass first when the height shrinks by more than twice
// as many pixels as the width ("to make the horizontal pass faster"); earlier Pillow always went
// horizontal first. The order changes rounding of the 8-bit intermediate by ±1 here and there.
RgbImage resize_two_pass(RgbImage r, int64_t out_w, int64_t out_h) {
  const bool vertical_first = r.h - out_h > 0 && r.h - out_h > (r.w - out_w) * 2;
  if (vertical_first && out_h != r.h) r = resample(r, out_h, false);
  if (out_w != r.w) r = resample(r, out_w, true);
  if (out_h != r.h) r = resample(r, out_h, false);
  return r;
}

}  // namespace

namespace {
// H×W×3 rows [top, top+h) and columns [left, left+w) of `img` to C×size×size bytes (optionally
// mirrored left-right), reading the crop without copying it first.
std::vector<uint8_t> crop_to_chw(const RgbImage& r, int64_t top, int64_t left, int64_t size, bool flip) {
  std::vector<uint8_t> chw(static_cast<size_t>(3 * size * size));
  for (int ch = 0; ch < 3; ++ch)
    for (int64_t y = 0; y < size; ++y)
      for (int64_t x = 0; x < size; ++x) {
        const int64_t sx = flip ? size - 1 - x : x;
        chw[static_cast<size_t>((ch * size + y) * size + x)] =
            r.pixels[static_cast<size_t>(((top + y) * r.w + left + sx) * 3 + ch)];
      }
  return chw;
}
}  // namespace

std::vector<uint8_t> resize_centre_crop(const RgbImage& img, int64_t size) { return resize_centre_crop(img, size, size); }

std::vector<uint8_t> resize_centre_crop(const RgbImage& img, int64_t resize, int64_t crop) {
  if (img.h < 1 || img.w < 1) throw Error("resize: an empty image");
  // torchvision _compute_resized_output_size: the shorter side to resize, the longer int(resize·long/short).
  const bool wide = img.w > img.h;
  const int64_t short_side = wide ? img.h : img.w, long_side = wide ? img.w : img.h;
  const auto new_long = static_cast<int64_t>(static_cast<double>(resize) * static_cast<double>(long_side) /
                                             static_cast<double>(short_side));
  const int64_t new_w = wide ? new_long : resize, new_h = wide ? resize : new_long;
  const RgbImage r = resize_two_pass(img, new_w, new_h);
  if (crop > r.h || crop > r.w) throw Error("resize: a centre crop of " + std::to_string(crop) + " from " + std::to_string(r.h) + "x" + std::to_string(r.w));
  // CenterCrop: int(round((H − crop) / 2)), Python's round (half to even).
  const auto top = static_cast<int64_t>(std::nearbyint(static_cast<double>(r.h - crop) / 2.0));
  const auto left = static_cast<int64_t>(std::nearbyint(static_cast<double>(r.w - crop) / 2.0));
  return crop_to_chw(r, top, left, crop, false);
}

RgbImage crop(const RgbImage& img, const CropBox& box) {
  if (box.h < 1 || box.w < 1 || box.top < 0 || box.left < 0 || box.top + box.h > img.h || box.left + box.w > img.w)
    throw Error("crop: the box is not inside the " + std::to_string(img.h) + "x" + std::to_string(img.w) + " image");
  RgbImage r;
  r.h = box.h, r.w = box.w;
  r.pixels.resize(static_cast<size_t>(box.h * box.w * 3));
  for (int64_t y = 0; y < box.h; ++y)
    std::copy_n(img.pixels.begin() + ((box.top + y) * img.w + box.left) * 3, box.w * 3, r.pixels.begin() + y * box.w * 3);
  return r;
}

std::vector<uint8_t> resized_crop(RgbImage&& cropped, int64_t size, bool flip) {
  const auto r = resize_two_pass(std::move(cropped), size, size);  // PIL's crop, then resize((size, size), BILINEAR)
  return crop_to_chw(r, 0, 0, size, flip);
}

std::vector<uint8_t> resized_crop(const RgbImage& img, const CropBox& box, int64_t size, bool flip) {
  return resized_crop(crop(img, box), size, flip);
}

CropBox random_resized_crop_box(int64_t height, int64_t width, const std::function<double()>& uniform) {
  // torchvision RandomResizedCrop.get_params, scale (0.08, 1), ratio (3/4, 4/3).
  const double area = static_cast<double>(height * width);
  const double log_lo = std::log(3.0 / 4.0), log_hi = std::log(4.0 / 3.0);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * (0.08 + (1.0 - 0.08) * uniform());
    const double aspect = std::exp(log_lo + (log_hi - log_lo) * uniform());
    const auto w = static_cast<int64_t>(std::nearbyint(std::sqrt(target * aspect)));
    const auto h = static_cast<int64_t>(std::nearbyint(std::sqrt(target / aspect)));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const auto top = std::min(height - h, static_cast<int64_t>(uniform() * static_cast<double>(height - h + 1)));
      const auto left = std::min(width - w, static_cast<int64_t>(uniform() * static_cast<double>(width - w + 1)));
      return {top, left, h, w};
    }
  }
  return central_crop_box(height, width);
}

CropBox central_crop_box(int64_t height, int64_t width) {
  // get_params' fallback: the whole image, clamped to the ratio range, centred.
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  int64_t w = width, h = height;
  if (in_ratio < 3.0 / 4.0) h = static_cast<int64_t>(std::nearbyint(static_cast<double>(w) / (3.0 / 4.0)));
  else if (in_ratio > 4.0 / 3.0) w = static_cast<int64_t>(std::nearbyint(static_cast<double>(h) * (4.0 / 3.0)));
  return {(height - h) / 2, (width - w) / 2, h, w};
}

}  // namespace kdprune::data
