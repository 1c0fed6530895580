// CIFAR python versions (torchvision's downloads) against the binary versions of the same images:
// tests/python/make_cifar_python.py writes both (CIFAR-10 as Python 2 pickles like the real files,
// CIFAR-100 as Python 3 pickles, protocols 2 and 5), and checks its pickles with Python's own
// unpickler; kdprune must read identical images, labels and order from either version.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "data/readers/readers.h"
#include "kdprune/data/dataset_registry.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using namespace kdprune;
using kdprune::test::TempDir;

namespace {

using kdprune::test::error_of;

DataSection section(const std::string& name, const std::string& root) {
  DataSection d;
  d.name = name;
  d.root = root;
  return d;
}

class CifarPython : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const std::string python = KDPRUNE_PYTHON;
    ASSERT_TRUE(std::filesystem::exists(python)) << "the project virtualenv's python is missing: " << python;
    const std::string cmd = python + " " + KDPRUNE_SOURCE_DIR + "/tests/python/make_cifar_python.py " + dir_->path();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  static void TearDownTestSuite() { delete dir_; }
  static inline TempDir* dir_ = nullptr;
};

void expect_same(const data::ImageSplit& a, const data::ImageSplit& b) {
  EXPECT_EQ(a.n, b.n);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_TRUE(a.images == b.images);
}

}  // namespace

TEST_F(CifarPython, Cifar10PythonVersionEqualsTheBinaryVersion) {
  const auto py = data::load_dataset(section("cifar10", dir_->file("py10")), 0);
  const auto bin = data::load_dataset(section("cifar10", dir_->file("bin10")), 0);
  EXPECT_EQ(py.train.n, 13);  // batches 1..5 in order: 3 + 2 + 4 + 1 + 3
  EXPECT_EQ(py.test.n, 2);
  expect_same(py.train, bin.train);
  expect_same(py.test, bin.test);
  EXPECT_EQ(py.info.class_names.at(9), "truck");  // from batches.meta
  EXPECT_NE(py.source.find("python version"), std::string::npos);
  // The folder itself works as data.root too.
  const auto direct = data::load_dataset(section("cifar10", dir_->file("py10/cifar-10-batches-py")), 0);
  expect_same(direct.train, bin.train);
}

TEST_F(CifarPython, Cifar100PythonVersionEqualsTheBinaryVersion) {
  const auto py = data::load_dataset(section("cifar100", dir_->file("py100")), 0);
  const auto bin = data::load_dataset(section("cifar100", dir_->file("bin100")), 0);
  expect_same(py.train, bin.train);  // protocol 2: bytes through _codecs.encode
  expect_same(py.test, bin.test);    // protocol 5: numpy's _frombuffer
  EXPECT_EQ(py.info.class_names.at(42), "class42");
  // Re-pickled with protocol 0: numpy's bytes as raw-unicode-escape text.
  const auto p0 = data::load_dataset(section("cifar100", dir_->file("py100p0")), 0);
  expect_same(p0.train, bin.train);
  expect_same(p0.test, bin.test);
  EXPECT_EQ(p0.info.class_names.at(42), "class42");
}

TEST_F(CifarPython, DamagedBatchesAreOneLineErrorsNamingTheFile) {
  TempDir d;
  std::filesystem::copy(dir_->file("py10/cifar-10-batches-py"), d.path());
  const std::string batch = d.file("data_batch_3");
  const std::string good = test::read_bytes(batch);
  const auto load = [&] { data::load_dataset(section("cifar10", d.path()), 0); };

  test::write_bytes(batch, good.substr(0, good.size() / 2));
  std::string e = error_of(load);
  EXPECT_NE(e.find("'" + batch + "': truncated pickle"), std::string::npos) << e;

  // A label of 10 in a 10-class batch: the first label byte (BININT1 after the list's EMPTY_LIST).
  std::string bad = good;
  size_t list = bad.find("labels") + 6 + 2 + 1 + 2;  // SHORT_BINSTRING, BINPUT n, EMPTY_LIST, BINPUT n
  if (bad[list] == '(') ++list;                       // MARK of APPENDS
  ASSERT_EQ(bad[list], 'K');
  bad[list + 1] = 10;
  test::write_bytes(batch, bad);
  e = error_of(load);
  EXPECT_NE(e.find("'labels'[0] is not a label 0..9"), std::string::npos) << e;

  // The pixel bytes one short of the shape.
  bad = good;
  const size_t raw = bad.find("T\x00\x30\x00\x00", 0, 5);  // BINSTRING of 4 x 3072 = 12288 bytes
  ASSERT_NE(raw, std::string::npos);
  bad[raw + 1] = '\xff', bad[raw + 2] = '\x2f';  // 12287
  test::write_bytes(batch, bad);
  e = error_of(load);
  EXPECT_FALSE(e.empty());
  EXPECT_NE(e.find(batch), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}
