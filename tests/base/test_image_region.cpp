// Partial JPEG decoding (decode_image_region, the streamed training views' decoder) against the
// full decode cropped to the same box, byte for byte: every chroma layout, progressive, grayscale,
// CMYK, boxes at every edge and across iMCU boundaries (tests/python/make_jpegs.py makes the
// files). The full decode is itself tested against PIL (test_image_folder.cpp).
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "data/readers/image_io.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using namespace kdprune;

namespace {
const char* kFiles[] = {"s420.jpg", "s422.jpg", "s444.jpg", "progressive.jpg", "gray.jpg", "cmyk.jpg", "tiny.jpg"};

void make_jpegs(const test::TempDir& d) {
  const std::string cmd = std::string(KDPRUNE_PYTHON) + " " + KDPRUNE_SOURCE_DIR + "/tests/python/make_jpegs.py " + d.path();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

// Boxes at the corners and edges, one pixel wide or tall, across the 8- and 16-pixel iMCU
// boundaries, the whole image, and RandomResizedCrop's draws.
std::vector<data::CropBox> boxes_for(int64_t h, int64_t w, std::mt19937_64& gen) {
  std::vector<data::CropBox> boxes = {{0, 0, h, w}, {0, 0, 1, 1}, {h - 1, w - 1, 1, 1}, {0, w - 1, h, 1},
                                      {h / 2, 0, 1, w}, {1, 1, h - 2, w - 2}};
  for (const int64_t left : {7, 8, 9, 15, 16, 17, 31, 32, 33})
    if (left + 2 <= w) boxes.push_back({h / 3, left, std::max<int64_t>(1, h / 2), std::min<int64_t>(w - left, 20)});
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int k = 0; k < 40; ++k) boxes.push_back(data::random_resized_crop_box(h, w, [&] { return u(gen); }));
  return boxes;
}
}  // namespace

TEST(ImageRegion, PartialDecodeIsTheFullDecodeCropped) {
  test::TempDir d;
  make_jpegs(d);
  std::mt19937_64 gen(11);
  for (const char* name : kFiles) {
    const std::string path = d.file(name);
    const auto full = data::decode_image(path);
    for (const auto& box : boxes_for(full.h, full.w, gen)) {
      const auto region = data::decode_image_region(path, [&](int64_t h, int64_t w) {
        EXPECT_EQ(h, full.h);
        EXPECT_EQ(w, full.w);
        return box;
      });
      const auto expected = data::crop(full, box);
      const std::string where = std::string(name) + " box top " + std::to_string(box.top) + " left " +
                                std::to_string(box.left) + " h " + std::to_string(box.h) + " w " + std::to_string(box.w);
      ASSERT_EQ(region.image.h, box.h) << where;
      ASSERT_EQ(region.image.w, box.w) << where;
      EXPECT_EQ(region.box.top, box.top);
      EXPECT_EQ(region.box.left, box.left);
      ASSERT_TRUE(region.image.pixels == expected.pixels) << where;
    }
  }
}

TEST(ImageRegion, ATruncatedFileFailsWhateverTheBox) {
  test::TempDir d;
  make_jpegs(d);
  const std::string bytes = io::read_file(d.file("s420.jpg"));
  const std::string cut = d.file("cut.jpg");
  test::write_bytes(cut, bytes.substr(0, bytes.size() * 6 / 10));
  EXPECT_THROW(data::decode_image(cut), Error);
  // A box in the rows that are all in the file: the rows below are still read, and fail.
  try {
    data::decode_image_region(cut, [](int64_t, int64_t w) { return data::CropBox{0, 0, 2, w}; });
    FAIL() << "expected the truncated file to fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated JPEG"), std::string::npos) << e.what();
  }
}

TEST(ImageRegion, ABoxOutsideTheImageIsAnError) {
  test::TempDir d;
  make_jpegs(d);
  EXPECT_THROW(data::decode_image_region(d.file("s444.jpg"), [](int64_t h, int64_t w) { return data::CropBox{0, 1, h, w}; }),
               Error);
}
