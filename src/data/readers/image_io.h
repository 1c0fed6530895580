#pragma once
// Image files for the imagefolder dataset: decoding (image_decode.cpp) and the resize + centre
// crop that turns them into one size (image_resize.cpp). Torch-free.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kdprune/data/raw_dataset.h"

namespace kdprune::data {

struct RgbImage {
  int64_t h = 0, w = 0;
  std::vector<uint8_t> pixels;  // H×W×3
};


// torchvision's Resize(size) + CenterCrop(size) on a PIL image: the shorter side to `size`, the
// longer int(size·long/short), with Pillow's bilinear resampling (its antialiased support and 8-bit
// fixed-point arithmetic, horizontal pass first), then the centre size×size. Returns C×H×W bytes.
std::vector<uint8_t> resize_centre_crop(const RgbImage& img, int64_t size);
// Resize(resize) + CenterCrop(crop), torchvision's evaluation transform (ImageNet: 256, 224).
std::vector<uint8_t> resize_centre_crop(const RgbImage& img, int64_t resize, int64_t crop);

// A region of an image: rows [top, top + h), columns [left, left + w).
struct CropBox {
  int64_t top = 0, left = 0, h = 0, w = 0;
};
// The box's pixels of `img` (PIL's img.crop(box)); the box must lie inside the image.
RgbImage crop(const RgbImage& img, const CropBox& box);

// A JPEG or PNG file (told by its first bytes) as 8-bit RGB, as PIL's convert("RGB") gives it.
// Throws kdprune::Error naming the path and what is wrong (unreadable, truncated, not an image).
RgbImage decode_image(const std::string& path);
// The part of an image file that box_of(height, width) picks, as decode_image(path) cropped to
// that box, and the box. A JPEG decodes only what the box needs: the rows above it are skipped and
// only the iMCU columns it spans are decompressed (libjpeg-turbo's jpeg_skip_scanlines and
// jpeg_crop_scanline); the rows below are skipped too, so a truncated file fails as in a full
// decode. A PNG is decoded whole, then cropped.
using BoxOf = std::function<CropBox(int64_t height, int64_t width)>;
struct DecodedRegion {
  RgbImage image;  // box.h × box.w
  CropBox box;     // in the file's image
};
DecodedRegion decode_image_region(const std::string& path, const BoxOf& box_of);
// torchvision's F.resized_crop on a PIL image (img.crop(box).resize((size, size), BILINEAR)),
// then mirrored left-right if `flip`. Returns C×size×size bytes.
std::vector<uint8_t> resized_crop(const RgbImage& img, const CropBox& box, int64_t size, bool flip);
// The same for an image that is the crop already (a DecodedRegion's): resized whole, no copy.
std::vector<uint8_t> resized_crop(RgbImage&& cropped, int64_t size, bool flip);
// torchvision RandomResizedCrop.get_params (scale (0.08, 1), ratio (3/4, 4/3)) with `uniform`
// drawing from [0, 1): up to 10 tries of area and log-aspect, else central_crop_box.
CropBox random_resized_crop_box(int64_t height, int64_t width, const std::function<double()>& uniform);
CropBox central_crop_box(int64_t height, int64_t width);

// One split of an image folder after decoding: the images that decoded (in listing order), their
// files, and a message per file that did not.
struct DecodedSplit {
  ImageSplit images;
  std::vector<std::string> files;
  std::vector<std::string> errors;
};

// The decoded folder saved beside it (image_folder_cache.cpp), so later runs skip decoding:
// valid while every listed file keeps its path, size and modification time, and for one size.
std::string folder_fingerprint(const std::vector<std::string>& train_files, const std::vector<std::string>& val_files,
                               int64_t size);
std::optional<std::pair<DecodedSplit, DecodedSplit>> read_folder_cache(const std::string& path,
                                                                        const std::string& fingerprint);
void write_folder_cache(const std::string& path, const std::string& fingerprint, const DecodedSplit& train,
                        const DecodedSplit& val);

}  // namespace kdprune::data
