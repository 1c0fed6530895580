#pragma once
// Image files for the imagefolder dataset: decoding (image_decode.cpp) and the resize + centre
// crop that turns them into one size (image_resize.cpp). Torch-free.
#include <cstdint>
#include <string>
#include <vector>

namespace kdprune::data {

struct RgbImage {
  int64_t h = 0, w = 0;
  std::vector<uint8_t> pixels;  // H×W×3
};

// A JPEG or PNG file (told by its first bytes) as 8-bit RGB, as PIL's convert("RGB") gives it.
// Throws kdprune::Error naming the path and what is wrong (unreadable, truncated, not an image).
RgbImage decode_image(const std::string& path);

// torchvision's Resize(size) + CenterCrop(size) on a PIL image: the shorter side to `size`, the
// longer int(size·long/short), with Pillow's bilinear resampling (its antialiased support and 8-bit
// fixed-point arithmetic, horizontal pass first), then the centre size×size. Returns C×H×W bytes.
std::vector<uint8_t> resize_centre_crop(const RgbImage& img, int64_t size);

}  // namespace kdprune::data
