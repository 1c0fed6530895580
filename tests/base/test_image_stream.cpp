// The streamed imagefolder (data.imagefolder.stream): its crops and resizes against PIL's
// (tests/python/pil_views.py: torchvision's F.resized_crop, hflip and Resize + CenterCrop written
// with PIL calls), RandomResizedCrop's box sampling against get_params' rules, views that depend on
// (seed, epoch, sample) alone, and broken files counted against data.imagefolder.max_bad.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <sstream>

#include "data/readers/image_io.h"
#include "kdprune/data/dataset_registry.h"
#include "kdprune/data/image_stream.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using namespace kdprune;

namespace {
data::RawDataset streamed(const std::string& root, int64_t size, int64_t max_bad, int64_t eval_resize = 0) {
  DataSection cfg;
  cfg.name = "imagefolder";
  cfg.root = root;
  cfg.imagefolder.size = size;
  cfg.imagefolder.stream = true;
  cfg.imagefolder.max_bad = max_bad;
  cfg.imagefolder.eval_resize = eval_resize;
  cfg.imagefolder.threads = 2;
  return data::load_dataset(cfg, 0);
}
std::string make_folder(const test::TempDir& d) {
  const std::string cmd = std::string(KDPRUNE_PYTHON) + " " + KDPRUNE_SOURCE_DIR + "/tests/python/make_image_folder.py " + d.path() + " 24";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return d.path();
}
}  // namespace

TEST(ImageStream, CropsAndResizesAsPil) {
  test::TempDir d;
  make_folder(d);
  const auto ds = streamed(d.path(), 24, 1);
  std::mt19937_64 gen(3);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::string requests, ours;
  for (const auto& path : ds.info.train_files) {
    if (path.find("broken") != std::string::npos) continue;
    const auto img = data::decode_image(path);
    // Drawn boxes (up- and downsampling), the whole image, a 1-pixel-wide strip, a tall narrow box
    // (Pillow 13 resizes it vertically first); flipped and not.
    const std::vector<data::CropBox> boxes = {data::random_resized_crop_box(img.h, img.w, [&] { return u(gen); }),
                                              data::random_resized_crop_box(img.h, img.w, [&] { return u(gen); }),
                                              {0, 0, img.h, img.w}, {img.h / 3, img.w - 1, img.h - img.h / 3, 1},
                                              {0, 0, img.h, std::max<int64_t>(1, img.w / 4)}};
    for (size_t k = 0; k < boxes.size(); ++k) {
      const auto& b = boxes[k];
      const bool flip = k % 2 == 1;
      requests += "crop\t" + path + "\t" + std::to_string(b.top) + "\t" + std::to_string(b.left) + "\t" +
                  std::to_string(b.h) + "\t" + std::to_string(b.w) + "\t16\t" + (flip ? "1" : "0") + "\n";
      const auto v = data::resized_crop(img, b, 16, flip);
      ours.append(v.begin(), v.end());
    }
    requests += "eval\t" + path + "\t29\t24\n";  // the evaluation transform, resize and crop apart
    const auto v = data::resize_centre_crop(img, 29, 24);
    ours.append(v.begin(), v.end());
  }
  io::write_file_atomic(d.file("requests.txt"), requests);
  const std::string cmd = std::string(KDPRUNE_PYTHON) + " " + KDPRUNE_SOURCE_DIR + "/tests/python/pil_views.py " +
                          d.file("requests.txt") + " " + d.file("pil.bin");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::string pil = io::read_file(d.file("pil.bin"));
  ASSERT_EQ(pil.size(), ours.size());
  // Per view (request line), the bytes that differ from PIL's.
  std::istringstream lines(requests);
  size_t at = 0;
  for (std::string line; std::getline(lines, line);) {
    const size_t n = line.rfind("eval", 0) == 0 ? 3 * 24 * 24 : 3 * 16 * 16;
    int64_t differ = 0;
    std::string first;
    for (size_t i = at; i < at + n; ++i)
      if (pil[i] != ours[i] && differ++ == 0)
        first = "byte " + std::to_string(i - at) + ": PIL " + std::to_string(static_cast<uint8_t>(pil[i])) + ", ours " +
                std::to_string(static_cast<uint8_t>(ours[i]));
    EXPECT_EQ(differ, 0) << line << " (first: " << first << ")";
    at += n;
  }
}

TEST(ImageStream, RandomResizedCropBoxesFollowGetParams) {
  std::mt19937_64 gen(1);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{375, 500}, {224, 224}, {40, 30}, {7, 9}}) {
    double min_frac = 1, max_frac = 0;
    for (int i = 0; i < 2000; ++i) {
      const auto b = data::random_resized_crop_box(h, w, [&] { return u(gen); });
      ASSERT_TRUE(b.h >= 1 && b.w >= 1 && b.top >= 0 && b.left >= 0 && b.top + b.h <= h && b.left + b.w <= w);
      const double frac = static_cast<double>(b.h * b.w) / static_cast<double>(h * w);
      min_frac = std::min(min_frac, frac), max_frac = std::max(max_frac, frac);
      if (h >= 224) {  // large enough for rounding not to matter: scale in [0.08, 1], ratio in [3/4, 4/3]
        EXPECT_GE(frac, 0.079);
        const double ratio = static_cast<double>(b.w) / static_cast<double>(b.h);
        EXPECT_TRUE(ratio > 0.74 && ratio < 1.34) << ratio;
      }
    }
    if (h >= 224) {
      EXPECT_LT(min_frac, 0.12);
      EXPECT_GT(max_frac, 0.9);
    }
  }
  // The fallback after 10 failed tries: the whole image, clamped to the ratio range, centred.
  const auto wide = data::central_crop_box(10, 100);
  EXPECT_EQ(wide.h, 10);
  EXPECT_EQ(wide.w, 13);
  EXPECT_EQ(wide.top, 0);
  EXPECT_EQ(wide.left, 43);
  const auto tall = data::central_crop_box(100, 10);
  EXPECT_EQ(tall.w, 10);
  EXPECT_EQ(tall.h, 13);
  EXPECT_EQ(tall.top, 43);
  EXPECT_EQ(tall.left, 0);
  const auto square = data::central_crop_box(30, 31);
  EXPECT_EQ(square.h, 30);
  EXPECT_EQ(square.w, 31);
  // A draw that always fails (uniform() = 1: area = whole image, ratio 4/3 too wide for a tall image) falls back.
  const auto fb = data::random_resized_crop_box(100, 10, [] { return 0.999999; });
  EXPECT_EQ(fb.w, 10);
  EXPECT_EQ(fb.h, 13);
}

TEST(ImageStream, ViewsDependOnSeedEpochAndSampleAlone) {
  test::TempDir d;
  make_folder(d);
  const auto ds = streamed(d.path(), 16, 1);
  const auto& s = *ds.train.stream;
  ASSERT_EQ(ds.train.n, 8);  // listed, the broken file included: it fails when read
  EXPECT_TRUE(ds.train.images.empty());
  const int64_t bytes = 3 * 16 * 16;
  std::vector<uint8_t> a(4 * bytes), b(4 * bytes), c(4 * bytes), e(4 * bytes);
  const int64_t order1[] = {0, 1, 2, 3}, order2[] = {3, 2, 1, 0};
  s.batch(order1, 4, true, 5, 2, a.data());
  s.batch(order2, 4, true, 5, 2, b.data());
  s.batch(order1, 4, true, 5, 3, c.data());
  s.batch(order1, 4, false, 5, 2, e.data());
  for (int k = 0; k < 4; ++k)  // the same sample, anywhere in a batch: the same view
    EXPECT_TRUE(std::equal(a.begin() + k * bytes, a.begin() + (k + 1) * bytes, b.begin() + (3 - k) * bytes)) << k;
  EXPECT_NE(a, c);  // another epoch: other views
  // Evaluation with eval_resize = size is the in-memory dataset's decode (itself checked against PIL).
  const auto in_memory = [&] {
    DataSection cfg;
    cfg.name = "imagefolder", cfg.root = d.path(), cfg.imagefolder.size = 16, cfg.imagefolder.max_bad = 1;
    cfg.imagefolder.cache = "off";
    return data::load_dataset(cfg, 0);
  }();
  const auto same = streamed(d.path(), 16, 1, 16);
  std::vector<uint8_t> val(static_cast<size_t>(same.test.n * bytes));
  std::vector<int64_t> all(static_cast<size_t>(same.test.n));
  for (int64_t i = 0; i < same.test.n; ++i) all[static_cast<size_t>(i)] = i;
  same.test.stream->batch(all.data(), same.test.n, false, 0, 0, val.data());
  EXPECT_EQ(val, in_memory.test.images);
  EXPECT_EQ(ds.test.stream->settings().eval_resize, 18);  // 16·8/7 rounded, as 224 -> 256
}

TEST(ImageStream, BrokenFilesCountAgainstMaxBad) {
  test::TempDir d;
  make_folder(d);
  const int64_t bytes = 3 * 16 * 16;
  std::vector<uint8_t> out(3 * bytes);
  int64_t broken = -1;
  auto ds = streamed(d.path(), 16, 0);
  for (size_t i = 0; i < ds.info.train_files.size(); ++i)
    if (ds.info.train_files[i].find("broken.jpg") != std::string::npos) broken = static_cast<int64_t>(i);
  ASSERT_GE(broken, 0);
  const int64_t batch[] = {0, broken, 1};
  try {
    ds.train.stream->batch(batch, 3, true, 0, 0, out.data());
    ADD_FAILURE() << "a broken file passed with max_bad = 0";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("imagefolder: 1 images failed to decode so far (data.imagefolder.max_bad = 0); the latest: '" +
                                         d.file("train/c_dog/broken.jpg") + "': truncated JPEG"),
              std::string::npos)
        << e.what();
  }
  ds = streamed(d.path(), 16, 1);
  // Its slot takes sample 0's view, and says so: the label must be sample 0's too.
  const auto held = ds.train.stream->batch(batch, 3, true, 0, 0, out.data());
  EXPECT_EQ(held, (std::vector<int64_t>{0, 0, 1}));
  EXPECT_TRUE(std::equal(out.begin(), out.begin() + bytes, out.begin() + bytes));
  EXPECT_EQ(ds.train.stream->failures(), 1);
  // Alone in its batch: the next sample of the split that decodes.
  const auto alone = ds.train.stream->batch(&broken, 1, false, 0, 0, out.data());
  EXPECT_EQ(alone, (std::vector<int64_t>{(broken + 1) % ds.train.n}));
  const int64_t outside[] = {ds.train.n};
  EXPECT_THROW(ds.train.stream->batch(outside, 1, false, 0, 0, out.data()), Error);
  EXPECT_EQ(ds.train.stream->failures(), 1);  // not counted as a broken file
  EXPECT_THROW(streamed(d.path(), 16, 1, 12), Error);  // eval_resize below size
}
