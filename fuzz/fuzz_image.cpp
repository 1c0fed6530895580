// libFuzzer harness: the imagefolder dataset's image decoding (src/data/readers/image_decode.cpp,
// libjpeg-turbo and libpng behind kdprune's error handling), the resize + centre crop, and the
// decoded-set cache reader (image_folder_cache.cpp).
//
// Input: byte 0 is the mode, the rest one file.
//   mode % 2 == 0: decode_image(file), then resize_centre_crop to 16×16; and the partial decode of
//                  a box (decode_image_region) must give the full decode's pixels of that box
//   mode % 2 == 1: read_folder_cache(file, fingerprint) with the fingerprint the file claims
#include <algorithm>
#include <cstdint>
#include <string>

#include "../src/data/readers/image_io.h"
#include "fuzz_common.h"
#include "kdprune/util/error.h"

using namespace kdprune;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kdprune_fuzz::scratch_dir("image");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const unsigned mode = data[0] % 2;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (mode == 0) {
      const data::RgbImage img = data::decode_image(kdprune_fuzz::write_file("image", bytes));
      FUZZ_CHECK(img.h > 0 && img.w > 0, "an empty image accepted");
      FUZZ_CHECK(img.pixels.size() == static_cast<size_t>(img.h * img.w * 3), "pixel bytes != h*w*3");
      if (img.h * img.w <= (1 << 22)) {  // the resize of huge images is slow, not wrong
        const auto chw = data::resize_centre_crop(img, 16);
        FUZZ_CHECK(chw.size() == 3 * 16 * 16, "the crop is not 3x16x16");
      }
      // A box from the input's size: the middle third, at least one pixel each way.
      const data::CropBox box{img.h / 3, img.w / 3, std::max<int64_t>(1, img.h / 3), std::max<int64_t>(1, img.w / 3)};
      // Its own try: a file the full decode reads must not be refused by the partial one.
      try {
        const auto region = data::decode_image_region(kdprune_fuzz::write_file("image", bytes),
                                                      [&](int64_t, int64_t) { return box; });
        FUZZ_CHECK(region.image.pixels == data::crop(img, box).pixels, "the partial decode differs from the full one");
      } catch (const Error& e) {
        FUZZ_CHECK(false, std::string("the partial decode refused a file the full one read: ") + e.what());
      }
      kdprune_fuzz::accepted("decode_image: " + std::to_string(img.w) + "x" + std::to_string(img.h));
    } else {
      // The cache's own fingerprint, so that the reader goes past that check.
      const auto at = bytes.find("\"fingerprint\":\"");
      const std::string fp = at == std::string::npos ? "" : bytes.substr(at + 15, 16);
      const auto cached = data::read_folder_cache(kdprune_fuzz::write_file("cache.bin", bytes), fp);
      if (cached) {
        for (const auto* d : {&cached->first, &cached->second}) {
          const auto& s = d->images;
          FUZZ_CHECK(s.labels.size() == static_cast<size_t>(s.n) && d->files.size() == static_cast<size_t>(s.n),
                     "labels or files != n");
          FUZZ_CHECK(s.images.size() == static_cast<size_t>(s.n * s.c * s.h * s.w), "image bytes != n*c*h*w");
        }
        kdprune_fuzz::accepted("read_folder_cache: " + std::to_string(cached->first.images.n) + " images");
      }
    }
  } catch (const Error& e) {
    kdprune_fuzz::refused(e);
  }
  return 0;
}
