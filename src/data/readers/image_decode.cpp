// JPEG (libjpeg-turbo, Debian's libjpeg62-turbo: the decoder Pillow and torchvision use) and PNG
// (libpng) files to 8-bit RGB, as PIL's Image.open(path).convert("RGB") gives them: grayscale
// replicated, palettes expanded, alpha dropped (16-bit PNGs come down to 8 bits by libpng's
// scaling, where Pillow may clip: not tested), CMYK
// JPEGs converted with Pillow's formula. The format is told by the file's first bytes.
#include <csetjmp>
#include <cstddef>
#include <cstdio>
#include <algorithm>
#include <cstring>

// jpeglib.h needs size_t and FILE declared before it.
#include <jpeglib.h>
#include <jerror.h>  // JWRN_JPEG_EOF
#include <png.h>

#include "image_io.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/util/error.h"

namespace kdprune::data {
namespace {

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {};
  bool truncated = false;
};

void jpeg_fail(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegError*>(c->err);
  (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}

// Warnings decode on, as in Pillow, except a file that ends early (Pillow: "image file is truncated").
void jpeg_warn(j_common_ptr c, int level) {
  auto* e = reinterpret_cast<JpegError*>(c->err);
  if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) {
    e->truncated = true;
    (*c->err->format_message)(c, e->message);
  }
}

// Pillow's decompression-bomb limit (Image.MAX_IMAGE_PIXELS × 2): larger images are refused before
// anything is allocated for them.
constexpr int64_t kMaxPixels = 2 * 89478485;
void check_pixels(int64_t pixels, const std::string& path) {
  if (pixels > kMaxPixels)
    throw Error("'" + path + "': " + std::to_string(pixels) + " pixels, more than the " + std::to_string(kMaxPixels) +
                " that are decoded (Pillow's decompression-bomb limit)");
}

// Pillow reads every CMYK JPEG as inverted ("CMYK;I", Adobe's convention: C = 255 − stored),
// then cmyk2rgb: R = nk − MULDIV255(C, nk) with nk = 255 − K.
void cmyk_to_rgb(const uint8_t* cmyk, uint8_t* out, int64_t pixels) {
  for (int64_t x = 0; x < pixels; ++x) {
    const int nk = cmyk[x * 4 + 3];  // 255 − K
    for (int k = 0; k < 3; ++k) {
      const int t = (255 - cmyk[x * 4 + k]) * nk + 128;
      const int v = nk - (((t >> 8) + t) >> 8);
      out[x * 3 + k] = static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
    }
  }
}

// The whole image (box_of null), or the part box_of(height, width) picks, stored in `box`.
RgbImage decode_jpeg(const std::string& bytes, const std::string& path, const BoxOf* box_of, CropBox* box) {
  jpeg_decompress_struct cinfo{};
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.mgr.emit_message = jpeg_warn;
  RgbImage img;
  std::vector<uint8_t> row;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    throw Error("'" + path + "': not a readable JPEG (" + err.message + ")");
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  try {
    check_pixels(static_cast<int64_t>(cinfo.image_width) * cinfo.image_height, path);
  } catch (...) {
    jpeg_destroy_decompress(&cinfo);
    throw;
  }
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  const int64_t height = cinfo.output_height, width = cinfo.output_width;
  CropBox b{0, 0, height, width};
  if (box_of) {
    try {
      b = (*box_of)(height, width);
    } catch (...) {
      jpeg_destroy_decompress(&cinfo);
      throw;
    }
    if (b.h < 1 || b.w < 1 || b.top < 0 || b.left < 0 || b.top + b.h > height || b.left + b.w > width) {
      jpeg_destroy_decompress(&cinfo);
      throw Error("'" + path + "': the crop box is not inside the " + std::to_string(height) + "x" + std::to_string(width) + " image");
    }
  }
  // Columns: from the iMCU at or left of one pixel before the box to one pixel after it. With fancy
  // (smooth) chroma upsampling, a partial row's edge pixels may differ from a full decode's
  // (libjpeg.txt, "Partial image decompression"); the extra pixel keeps them out of the box.
  int64_t first_col = 0;
  if (b.left > 0 || b.w < width) {
    auto xoffset = static_cast<JDIMENSION>(std::max<int64_t>(0, b.left - 1));
    auto span = static_cast<JDIMENSION>(std::min(width, b.left + b.w + 1) - static_cast<int64_t>(xoffset));
    jpeg_crop_scanline(&cinfo, &xoffset, &span);  // moves xoffset left to an iMCU boundary
    first_col = b.left - static_cast<int64_t>(xoffset);
  }
  const int channels = cinfo.output_components;
  img.h = b.h, img.w = b.w;
  img.pixels.resize(static_cast<size_t>(img.h * img.w * 3));
  row.resize(static_cast<size_t>(cinfo.output_width) * channels);
  if (b.top > 0) jpeg_skip_scanlines(&cinfo, static_cast<JDIMENSION>(b.top));
  while (static_cast<int64_t>(cinfo.output_scanline) < b.top + b.h && !err.truncated) {
    const auto y = static_cast<int64_t>(cinfo.output_scanline) - b.top;
    JSAMPROW rows[1] = {row.data()};
    jpeg_read_scanlines(&cinfo, rows, 1);
    const uint8_t* in = row.data() + first_col * channels;
    uint8_t* out = img.pixels.data() + y * img.w * 3;
    if (cmyk) cmyk_to_rgb(in, out, img.w);
    else std::memcpy(out, in, static_cast<size_t>(img.w * 3));
  }
  // The rows below the box are skipped but the last one is read: a file that ends early fails
  // whatever the box, as the full decode (and Pillow's) does. (A skip to the very end would stop
  // reading the file: libjpeg-turbo then marks its end as reached.)
  if (!err.truncated && cinfo.output_scanline < cinfo.output_height) {
    if (cinfo.output_scanline + 1 < cinfo.output_height)
      jpeg_skip_scanlines(&cinfo, cinfo.output_height - 1 - cinfo.output_scanline);
    JSAMPROW rows[1] = {row.data()};
    jpeg_read_scanlines(&cinfo, rows, 1);
  }
  if (err.truncated) {
    jpeg_destroy_decompress(&cinfo);
    throw Error("'" + path + "': truncated JPEG (" + err.message + ")");
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (box) *box = b;
  return img;
}

RgbImage decode_png(const std::string& bytes, const std::string& path) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size()))
    throw Error("'" + path + "': not a readable PNG (" + png.message + ")");
  check_pixels(static_cast<int64_t>(png.width) * png.height, path);
  // RGBA keeps the colour values as stored (no compositing); the alpha is then dropped, as
  // Pillow's convert("RGB") does. 16-bit files come down to 8 bits.
  png.format = PNG_FORMAT_RGBA;
  std::vector<uint8_t> rgba(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, rgba.data(), 0, nullptr)) {
    const std::string why = png.message;
    png_image_free(&png);
    throw Error("'" + path + "': not a readable PNG (" + why + ")");
  }
  RgbImage img;
  img.h = png.height, img.w = png.width;
  img.pixels.resize(static_cast<size_t>(img.h * img.w * 3));
  for (size_t i = 0, n = static_cast<size_t>(img.h * img.w); i < n; ++i)
    std::memcpy(&img.pixels[i * 3], &rgba[i * 4], 3);
  return img;
}

}  // namespace

namespace {
RgbImage decode_any(const std::string& path, const BoxOf* box_of, CropBox* box) {
  const std::string bytes = io::read_file(path);
  if (bytes.size() >= 3 && static_cast<uint8_t>(bytes[0]) == 0xFF && static_cast<uint8_t>(bytes[1]) == 0xD8 &&
      static_cast<uint8_t>(bytes[2]) == 0xFF)
    return decode_jpeg(bytes, path, box_of, box);
  if (bytes.size() >= 8 && png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) == 0) {
    RgbImage whole = decode_png(bytes, path);
    if (!box_of) return whole;
    *box = (*box_of)(whole.h, whole.w);
    return crop(whole, *box);
  }
  throw Error("'" + path + "': neither a JPEG nor a PNG file (" + std::to_string(bytes.size()) + " bytes)");
}
}  // namespace

RgbImage decode_image(const std::string& path) { return decode_any(path, nullptr, nullptr); }

DecodedRegion decode_image_region(const std::string& path, const BoxOf& box_of) {
  DecodedRegion r;
  r.image = decode_any(path, &box_of, &r.box);
  return r;
}

}  // namespace kdprune::data
