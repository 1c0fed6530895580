// The imagefolder dataset against torchvision's pipeline in PIL (tests/python/make_image_folder.py,
// run with the project virtualenv's Pillow): a tree with JPEG (RGB, grayscale, CMYK) and PNG (RGBA,
// palette) files of odd sizes, a class folder with a subfolder, a truncated JPEG, a .txt and a
// .bmp. Class order, sample order, paths and labels, and every pixel after decode + Resize +
// CenterCrop must equal PIL's; the broken file is skipped only within data.imagefolder.max_bad.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kdprune/data/dataset_registry.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/io/remove_tree.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using namespace kdprune;

namespace {

std::vector<std::pair<std::string, int64_t>> expected_list(const std::string& path) {
  std::vector<std::pair<std::string, int64_t>> out;
  std::istringstream in(io::read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    const auto tab = line.find('\t');
    out.emplace_back(line.substr(0, tab), std::stoll(line.substr(tab + 1)));
  }
  return out;
}

}  // namespace

TEST(ImageFolder, MatchesTorchvisionsOrderDecodeAndResize) {
  test::TempDir d;
  const std::string cmd = std::string(KDPRUNE_PYTHON) + " " + KDPRUNE_SOURCE_DIR + "/tests/python/make_image_folder.py " + d.path() + " 24";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  DataSection cfg;
  cfg.name = "imagefolder";
  cfg.root = d.path();
  cfg.imagefolder.size = 24;
  // One undecodable file and max_bad = 0: the load stops, naming it.
  try {
    data::load_dataset(cfg, 0);
    ADD_FAILURE() << "loaded with a broken file";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("imagefolder: 1 of 8 train images failed to decode (data.imagefolder.max_bad = 0); the first: '" +
                       d.file("train/c_dog/broken.jpg") + "': truncated JPEG"),
              std::string::npos)
        << msg;
  }
  cfg.imagefolder.max_bad = 1;
  const auto ds = data::load_dataset(cfg, 0);
  EXPECT_EQ(ds.info.classes, 3);
  EXPECT_EQ(ds.info.class_names, (std::vector<std::string>{"a_cat", "b_bird", "c_dog"}));
  for (const auto* split : {&ds.train, &ds.test}) {
    const bool train = split == &ds.train;
    SCOPED_TRACE(train ? "train" : "val");
    const auto want = expected_list(d.file(train ? "expected_train.txt" : "expected_val.txt"));
    ASSERT_EQ(split->n, static_cast<int64_t>(want.size()));
    EXPECT_EQ(split->c, 3);
    EXPECT_EQ(split->h, 24);
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(split->labels[i], want[i].second) << i;
      if (train) {
        EXPECT_EQ(ds.info.train_files[i], want[i].first) << i;
      }
    }
    const std::string pixels = io::read_file(d.file(train ? "expected_train.bin" : "expected_val.bin"));
    ASSERT_EQ(pixels.size(), split->images.size());
    int64_t differ = 0;
    for (size_t i = 0; i < pixels.size(); ++i) differ += static_cast<uint8_t>(pixels[i]) != split->images[i];
    EXPECT_EQ(differ, 0) << "bytes that differ from PIL's of " << pixels.size();
  }
  // The order within a class: its own files by name, then its subfolders'.
  EXPECT_EQ(ds.info.train_files[0], d.file("train/a_cat/m.jpeg"));
  EXPECT_EQ(ds.info.train_files[1], d.file("train/a_cat/p.png"));
  EXPECT_EQ(ds.info.train_files[2], d.file("train/a_cat/sub/b.jpg"));
  EXPECT_EQ(ds.info.mean, (std::vector<float>{0.485f, 0.456f, 0.406f}));

  // The decoded set was saved beside the folder; the next load reads it (a byte changed in the
  // cache shows up), a changed source file makes it stale (decoded again), the failures it
  // recorded still count against max_bad, and cache=off writes nothing.
  const std::string cache = d.file(".kdprune-cache/imagefolder-24px.bin");
  ASSERT_TRUE(std::filesystem::exists(cache));
  {
    std::fstream f(cache, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put(static_cast<char>(ds.test.images.back() ^ 0xFF));
  }
  auto cached = data::load_dataset(cfg, 0);
  EXPECT_EQ(cached.train.images, ds.train.images);
  EXPECT_EQ(cached.info.train_files, ds.info.train_files);
  EXPECT_NE(cached.test.images.back(), ds.test.images.back()) << "read from the cache";
  std::filesystem::last_write_time(d.file("val/c_dog/up.png"), std::filesystem::file_time_type::clock::now());
  cached = data::load_dataset(cfg, 0);
  EXPECT_EQ(cached.test.images, ds.test.images) << "a changed file: decoded again";
  cfg.imagefolder.max_bad = 0;
  EXPECT_THROW(data::load_dataset(cfg, 0), Error) << "the cached failures count";
  cfg.imagefolder.max_bad = 1;
  std::error_code ec;
  io::remove_tree(d.file(".kdprune-cache"), ec);
  cfg.imagefolder.cache = "off";
  data::load_dataset(cfg, 0);
  EXPECT_FALSE(std::filesystem::exists(d.file(".kdprune-cache")));
  // A link to nothing is an image that failed too: counted against max_bad and named, not dropped.
  std::filesystem::create_symlink(d.file("nowhere.jpg"), d.file("train/a_cat/gone.jpg"));
  try {
    data::load_dataset(cfg, 0);
    ADD_FAILURE() << "a dangling link passed unseen";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("2 of 9 train images failed to decode"), std::string::npos) << msg;
    EXPECT_NE(msg.find("gone.jpg"), std::string::npos) << msg;
  }
}

TEST(ImageFolder, LayoutErrorsNameTheFolder) {
  test::TempDir d;
  DataSection cfg;
  cfg.name = "imagefolder";
  const auto error_of = [&] {
    try {
      data::load_dataset(cfg, 0);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("loaded");
  };
  EXPECT_EQ(error_of(), "data.root: the imagefolder dataset needs its folder (<root>/train/<class>/..., <root>/val/<class>/...)");
  cfg.root = d.path();
  EXPECT_EQ(error_of(), "imagefolder: '" + d.file("train") + "' is not a folder (expected <root>/train and <root>/val)");
  std::filesystem::create_directories(d.file("train/x"));
  std::filesystem::create_directories(d.file("val/x"));
  EXPECT_EQ(error_of(), "imagefolder: class folder '" + d.file("train/x") + "' has no .jpg, .jpeg or .png file");
}
