// The Fig. 2 gallery (data/sample_gallery.h) on tiny datasets written in the real formats: CIFAR-10
// binary batches, MNIST IDX and an image folder of PNGs (decoded whole and streamed). Each pick's
// pixels must equal the bytes written to the files (and the dataset's), its label the file's, and
// the order the scores' (ties by the lower index); samples outside the pool are never drawn.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "kdprune/data/dataset_registry.h"
#include "kdprune/data/sample_gallery.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using namespace kdprune;
using test::TempDir;
using test::write_bytes;

namespace {

DataSection section(const std::string& name, const std::string& root) {
  DataSection d;
  d.name = name;
  d.root = root;
  return d;
}

// The expected picks, computed apart from rank_pool: every pool sample sorted by (−score, index)
// for the top and (score, index) for the bottom.
std::vector<int64_t> expected(const std::vector<int64_t>& pool, const std::vector<double>& s, int64_t k, bool top) {
  std::vector<std::pair<double, int64_t>> v;
  for (int64_t i : pool) v.emplace_back(top ? -s[static_cast<size_t>(i)] : s[static_cast<size_t>(i)], i);
  std::sort(v.begin(), v.end());
  std::vector<int64_t> out;
  for (int64_t r = 0; r < k; ++r) out.push_back(v[static_cast<size_t>(r)].second);
  return out;
}

// Checks a gallery against the expected order and against `pixels(i)`, sample i's C×H×W bytes as
// written to the dataset's files, and `label(i)`.
void check(const data::Gallery& g, const std::vector<int64_t>& pool, const std::vector<double>& scores, int64_t top,
           int64_t bottom, const std::function<std::vector<uint8_t>(int64_t)>& pixels,
           const std::function<int64_t(int64_t)>& label) {
  ASSERT_EQ(static_cast<int64_t>(g.picks.size()), top + bottom);
  const auto want_top = expected(pool, scores, top, true), want_bottom = expected(pool, scores, bottom, false);
  const size_t image = static_cast<size_t>(g.c * g.h * g.w);
  ASSERT_EQ(g.images.size(), g.picks.size() * image);
  for (size_t k = 0; k < g.picks.size(); ++k) {
    const auto& p = g.picks[k];
    const bool is_top = k < static_cast<size_t>(top);
    SCOPED_TRACE(p.group + " #" + std::to_string(p.rank) + " = sample " + std::to_string(p.index));
    EXPECT_EQ(p.group, is_top ? "top" : "bottom");
    EXPECT_EQ(p.rank, static_cast<int64_t>(is_top ? k + 1 : k + 1 - static_cast<size_t>(top)));
    EXPECT_EQ(p.index, is_top ? want_top[k] : want_bottom[k - static_cast<size_t>(top)]);
    EXPECT_EQ(p.score, scores[static_cast<size_t>(p.index)]);
    EXPECT_EQ(p.label, label(p.index));
    const std::vector<uint8_t> got(g.images.begin() + static_cast<std::ptrdiff_t>(k * image),
                                   g.images.begin() + static_cast<std::ptrdiff_t>((k + 1) * image));
    EXPECT_EQ(got, pixels(p.index));
  }
}

std::vector<int64_t> all(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

}  // namespace

TEST(SampleGallery, CifarBinaryPixelsLabelsAndOrder) {
  TempDir d;
  // 5 batches of 2 records: record r of batch b has label (3b + r) % 10 and bytes (11b + 5r + k) % 256.
  auto record_byte = [](int64_t i, int64_t k) { return static_cast<uint8_t>((11 * (i / 2) + 5 * (i % 2) + k) % 256); };
  for (int b = 0; b < 5; ++b) {
    std::string bytes;
    for (int r = 0; r < 2; ++r) {
      bytes += static_cast<char>((3 * b + r) % 10);
      for (int k = 0; k < 3072; ++k) bytes += static_cast<char>(record_byte(2 * b + r, k));
    }
    write_bytes(d.file("data_batch_" + std::to_string(b + 1) + ".bin"), bytes);
  }
  write_bytes(d.file("test_batch.bin"), std::string(1, '\0') + std::string(3072, '\x07'));
  const auto ds = data::load_dataset(section("cifar10", d.path()), 0);
  ASSERT_EQ(ds.train.n, 10);
  // Ties (2.5 twice, 0.1 twice) rank by the lower index in both groups.
  const std::vector<double> scores = {0.1, 2.5, -1.0, 7.0, 2.5, 0.1, 3.0, -4.0, 9.0, 0.0};
  const auto g = data::sample_gallery(ds, all(10), scores, 4, 3);
  EXPECT_EQ(g.c, 3);
  EXPECT_EQ(g.h, 32);
  check(g, all(10), scores, 4, 3,
        [&](int64_t i) {
          std::vector<uint8_t> v;
          for (int64_t k = 0; k < 3072; ++k) v.push_back(record_byte(i, k));
          return v;
        },
        [](int64_t i) { return (3 * (i / 2) + i % 2) % 10; });
  EXPECT_EQ(g.picks[0].index, 8);
  EXPECT_EQ(g.picks[4].index, 7);
  EXPECT_EQ(ds.info.class_names[static_cast<size_t>(g.picks[0].label)], "bird");  // sample 8: label (3·4 + 0) % 10 = 2
}

TEST(SampleGallery, IdxPixelsLabelsAndAPoolThatExcludesPlaceholders) {
  TempDir d;
  const int64_t n = 12;
  std::vector<uint8_t> images, labels;
  for (int64_t i = 0; i < n; ++i) {
    labels.push_back(static_cast<uint8_t>((i * 7) % 10));
    for (int64_t k = 0; k < 6; ++k) images.push_back(static_cast<uint8_t>(i * 20 + k));
  }
  write_bytes(d.file("train-images-idx3-ubyte"), test::idx_bytes({static_cast<uint32_t>(n), 2, 3}, images));
  write_bytes(d.file("train-labels-idx1-ubyte"), test::idx_bytes({static_cast<uint32_t>(n)}, labels));
  write_bytes(d.file("t10k-images-idx3-ubyte"), test::idx_bytes({1, 2, 3}, {1, 2, 3, 4, 5, 6}));
  write_bytes(d.file("t10k-labels-idx1-ubyte"), test::idx_bytes({1}, {0}));
  const auto ds = data::load_dataset(section("mnist", d.path()), 0);
  // Scores over a pool of the odd samples; the even ones hold 0 as `kdprune score` writes outside
  // its pool, below and above every pooled score: none may be drawn.
  std::vector<int64_t> pool;
  std::vector<double> scores(static_cast<size_t>(n), 0.0);
  for (int64_t i = 1; i < n; i += 2) {
    pool.push_back(i);
    scores[static_cast<size_t>(i)] = i < 6 ? 0.5 * static_cast<double>(i) : -0.25 * static_cast<double>(i);
  }
  const auto g = data::sample_gallery(ds, pool, scores, 3, 3);
  EXPECT_EQ(g.c, 1);
  check(g, pool, scores, 3, 3,
        [](int64_t i) {
          std::vector<uint8_t> v;
          for (int64_t k = 0; k < 6; ++k) v.push_back(static_cast<uint8_t>(i * 20 + k));
          return v;
        },
        [](int64_t i) { return (i * 7) % 10; });
  for (const auto& p : g.picks) EXPECT_EQ(p.index % 2, 1) << "sample " << p.index << " is outside the pool";
  // The whole pool in both groups: they overlap, each in its own order.
  const auto both = data::sample_gallery(ds, pool, scores, 6, 6);
  EXPECT_EQ(both.picks[0].index, both.picks[11].index);
}

TEST(SampleGallery, ImageFolderDecodedAndStreamed) {
  TempDir d;
  // 8×8 PNGs: 3 classes, 2 images each in train, 1 in val; image j's pixel (y, x, c) = 30j + 8y + x + 60c.
  const std::vector<std::string> classes = {"bird", "cat", "dog"};
  auto pixel = [](int64_t j, int64_t y, int64_t x, int64_t c) { return static_cast<uint8_t>((30 * j + 8 * y + x + 60 * c) % 256); };
  auto png = [&](int64_t j) {
    std::vector<uint8_t> rgb;
    for (int64_t y = 0; y < 8; ++y)
      for (int64_t x = 0; x < 8; ++x)
        for (int64_t c = 0; c < 3; ++c) rgb.push_back(pixel(j, y, x, c));
    return test::png_bytes(8, 8, rgb);
  };
  for (size_t c = 0; c < classes.size(); ++c) {
    for (int k = 0; k < 2; ++k)
      write_bytes(d.file("train/" + classes[c] + "/" + std::to_string(k) + ".png"), png(static_cast<int64_t>(2 * c) + k));
    write_bytes(d.file("val/" + classes[c] + "/v.png"), png(7));
  }
  auto chw = [&](int64_t j) {  // ImageFolder order: class folders sorted, files sorted: sample j is image j
    std::vector<uint8_t> v;
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < 8; ++y)
        for (int64_t x = 0; x < 8; ++x) v.push_back(pixel(j, y, x, c));
    return v;
  };
  DataSection cfg = section("imagefolder", d.path());
  cfg.imagefolder.size = 8;
  cfg.imagefolder.cache = "off";
  const std::vector<double> scores = {5, 1, 4, 1, 9, 2};
  const auto ds = data::load_dataset(cfg, 0);
  EXPECT_EQ(ds.info.class_names, classes);
  check(data::sample_gallery(ds, all(6), scores, 2, 2), all(6), scores, 2, 2, chw, [](int64_t i) { return i / 2; });
  // Streamed: nothing held decoded; the gallery decodes its picks (evaluation transform, here 8 -> 8).
  cfg.imagefolder.stream = true;
  cfg.imagefolder.eval_resize = 8;
  const auto streamed = data::load_dataset(cfg, 0);
  ASSERT_TRUE(streamed.train.stream);
  ASSERT_TRUE(streamed.train.images.empty());
  check(data::sample_gallery(streamed, all(6), scores, 2, 2), all(6), scores, 2, 2, chw, [](int64_t i) { return i / 2; });
}

TEST(SampleGallery, CountsOutsideThePoolAreOneLine) {
  const std::vector<int64_t> pool = {0, 2, 3}, labels = {0, 1, 0, 1};
  const std::vector<double> scores = {1, 2, 3, 4};
  auto error = [&](int64_t top, int64_t bottom) {
    return test::error_of([&] { data::rank_pool(pool, scores, labels, top, bottom); });
  };
  EXPECT_EQ(error(4, 0), "samples: --top 4 is more than the 3 samples the scores rank (the scoring pool)");
  EXPECT_EQ(error(1, 5), "samples: --bottom 5 is more than the 3 samples the scores rank (the scoring pool)");
  EXPECT_EQ(error(0, 0), "samples: nothing to draw (--top and --bottom are both 0)");
  EXPECT_EQ(error(-1, 1), "samples: --top and --bottom must be >= 0");
  EXPECT_EQ(error(3, 0), "");
}
