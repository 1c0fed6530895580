// Dataset readers on tiny files written in each real format, including every malformed case.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "data/readers/readers.h"
#include "kdprune/data/dataset_registry.h"
#include "kdprune/util/error.h"
#include "test_files.h"
#ifdef KDPRUNE_WITH_MATIO
#include <matio.h>
#endif

using namespace kdprune;
using kdprune::test::idx_bytes;
using kdprune::test::TempDir;
using kdprune::test::write_bytes;
using kdprune::test::write_gzip;

namespace {

std::string error_of(const DataSection& d) {
  try {
    data::load_dataset(d, 0);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

DataSection section(const std::string& name, const std::string& root) {
  DataSection d;
  d.name = name;
  d.root = root;
  return d;
}

std::vector<uint8_t> ramp(size_t n, int mul = 1) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * static_cast<size_t>(mul)) % 251);
  return v;
}

// A 3-train / 2-test IDX dataset of 2×3 images; gzip or plain.
void write_idx_set(const std::string& dir, bool gz, const std::vector<uint8_t>& train_labels = {1, 0, 9}) {
  auto w = [&](const std::string& name, const std::string& bytes) {
    if (gz) write_gzip(dir + "/" + name + ".gz", bytes);
    else write_bytes(dir + "/" + name, bytes);
  };
  w("train-images-idx3-ubyte", idx_bytes({3, 2, 3}, ramp(18)));
  w("train-labels-idx1-ubyte", idx_bytes({static_cast<uint32_t>(train_labels.size())}, train_labels));
  w("t10k-images-idx3-ubyte", idx_bytes({2, 2, 3}, ramp(12, 3)));
  w("t10k-labels-idx1-ubyte", idx_bytes({2}, {4, 5}));
}

}  // namespace

TEST(IdxReader, ReadsGzipAndPlain) {
  for (bool gz : {true, false}) {
    TempDir d;
    write_idx_set(d.path(), gz);
    auto ds = data::load_dataset(section("mnist", d.path()), 0);
    EXPECT_EQ(ds.train.n, 3);
    EXPECT_EQ(ds.train.c, 1);
    EXPECT_EQ(ds.train.h, 2);
    EXPECT_EQ(ds.train.w, 3);
    EXPECT_EQ(ds.train.images, ramp(18));
    EXPECT_EQ(ds.train.labels, (std::vector<int64_t>{1, 0, 9}));
    EXPECT_EQ(ds.test.labels, (std::vector<int64_t>{4, 5}));
    EXPECT_EQ(ds.test.images, ramp(12, 3));
    EXPECT_FALSE(ds.info.flip);  // digits
  }
}

TEST(IdxReader, AcceptsParentFolder) {
  TempDir d;
  write_idx_set(d.path() + "/fashion-mnist", true);
  auto ds = data::load_dataset(section("fashion-mnist", d.path()), 0);
  EXPECT_EQ(ds.train.n, 3);
  EXPECT_TRUE(ds.info.flip);
}

TEST(IdxReader, MalformedFilesNameTheProblem) {
  struct Case {
    const char* what;
    std::function<void(const std::string&)> damage;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"bad magic", [](const std::string& d) { write_bytes(d + "/train-images-idx3-ubyte", std::string("\x12\x34\x08\x03", 4) + std::string(12, '\0') + std::string(18, 'x')); }, "bad magic"},
      {"wrong dims", [](const std::string& d) { write_bytes(d + "/train-images-idx3-ubyte", idx_bytes({3, 6}, ramp(18))); }, "dimensions"},
      {"truncated", [](const std::string& d) { write_bytes(d + "/train-images-idx3-ubyte", idx_bytes({3, 2, 3}, ramp(17))); }, "truncated"},
      {"count mismatch", [](const std::string& d) { write_bytes(d + "/train-labels-idx1-ubyte", idx_bytes({2}, {1, 2})); }, "2 labels for 3 images"},
      {"label out of range", [](const std::string& d) { write_bytes(d + "/train-labels-idx1-ubyte", idx_bytes({3}, {1, 10, 2})); }, "out of range"},
      {"truncated gzip", [](const std::string& d) {
         std::filesystem::remove(d + "/train-images-idx3-ubyte");
         write_gzip(d + "/train-images-idx3-ubyte.gz", idx_bytes({3, 2, 3}, ramp(18)));
         const std::string gz = kdprune::test::read_bytes(d + "/train-images-idx3-ubyte.gz");
         write_bytes(d + "/train-images-idx3-ubyte.gz", gz.substr(0, gz.size() - 12)); }, "gzip"},
      {"missing file", [](const std::string& d) { std::filesystem::remove(d + "/t10k-labels-idx1-ubyte"); }, "holds train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte of the IDX files (gzip or plain) but not t10k-labels-idx1-ubyte.gz"},
      // the type byte in hex as the format writes it (0x0D is float), not its decimal value
      {"float data", [](const std::string& d) { write_bytes(d + "/train-images-idx3-ubyte", std::string("\0\0\x0D\x03", 4) + std::string(12, '\0')); }, "IDX data type 0x0D, expected 0x08"},
      // sizes whose product overflows 64 bits must not wrap around to the file's size
      {"overflowing sizes", [](const std::string& d) {
         write_bytes(d + "/train-images-idx3-ubyte", std::string("\0\0\x08\x03", 4) + std::string("\xff\xff\xff\xff", 4) +
                                                         std::string("\xff\xff\xff\xff", 4) + std::string("\x01\0\0\x01", 4) + "abc"); },
       "truncated: the header's sizes need more data bytes than the file's 3"},
      {"test images of another shape", [](const std::string& d) { write_bytes(d + "/t10k-images-idx3-ubyte", idx_bytes({2, 3, 2}, ramp(12))); },
       "train images are 1x2x3 but test images are 1x3x2"},
  };
  for (const auto& c : cases) {
    TempDir d;
    write_idx_set(d.path(), false);
    c.damage(d.path());
    const std::string e = error_of(section("mnist", d.path()));
    EXPECT_NE(e.find(c.expect), std::string::npos) << c.what << ": " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << "one line: " << e;
  }
}

namespace {
std::string cifar_records(const std::vector<std::vector<uint8_t>>& labels_per_record, uint8_t fill_base) {
  std::string b;
  for (size_t i = 0; i < labels_per_record.size(); ++i) {
    for (uint8_t l : labels_per_record[i]) b += static_cast<char>(l);
    for (int k = 0; k < 3072; ++k) b += static_cast<char>((fill_base + i * 7 + static_cast<size_t>(k)) % 256);
  }
  return b;
}
}  // namespace

TEST(CifarReader, Cifar10BatchesInOrder) {
  TempDir d;
  const std::string dir = d.path() + "/cifar-10-batches-bin";
  for (int i = 1; i <= 5; ++i)
    write_bytes(dir + "/data_batch_" + std::to_string(i) + ".bin",
                cifar_records({{static_cast<uint8_t>(i)}, {static_cast<uint8_t>(i + 1)}}, static_cast<uint8_t>(i)));
  write_bytes(dir + "/test_batch.bin", cifar_records({{9}}, 0));
  auto ds = data::load_dataset(section("cifar10", d.path()), 0);  // parent folder accepted
  ASSERT_EQ(ds.train.n, 10);
  EXPECT_EQ(ds.train.labels, (std::vector<int64_t>{1, 2, 2, 3, 3, 4, 4, 5, 5, 6}));
  EXPECT_EQ(ds.train.c, 3);
  // record 1 of batch 1: pixel k = (1 + 7 + k) % 256, planes R,G,B as C×H×W
  EXPECT_EQ(ds.train.images[3072 + 0], 8);
  EXPECT_EQ(ds.train.images[3072 + 1024 + 5], (8 + 1024 + 5) % 256);
  EXPECT_EQ(ds.test.labels, (std::vector<int64_t>{9}));
  EXPECT_EQ(ds.info.class_names[0], "airplane");
}

TEST(CifarReader, Cifar100UsesFineLabel) {
  TempDir d;
  write_bytes(d.file("train.bin"), cifar_records({{3, 77}, {19, 99}}, 0));
  write_bytes(d.file("test.bin"), cifar_records({{0, 5}}, 0));
  auto ds = data::load_dataset(section("cifar100", d.path()), 0);
  EXPECT_EQ(ds.train.labels, (std::vector<int64_t>{77, 99}));
  EXPECT_EQ(ds.info.classes, 100);
}

TEST(CifarReader, MalformedFiles) {
  TempDir d;
  write_bytes(d.file("train.bin"), cifar_records({{3, 77}}, 0).substr(0, 3000));
  write_bytes(d.file("test.bin"), cifar_records({{0, 5}}, 0));
  EXPECT_NE(error_of(section("cifar100", d.path())).find("not a positive multiple of the 3074-byte record"), std::string::npos);
  write_bytes(d.file("train.bin"), cifar_records({{3, 100}}, 0));
  EXPECT_NE(error_of(section("cifar100", d.path())).find("label 100"), std::string::npos);
  TempDir empty;
  const std::string e = error_of(section("cifar10", empty.path()));
  EXPECT_NE(e.find("CIFAR-10 not found: no folder holds the binary version (data_batch_1.bin, "), std::string::npos) << e;
  EXPECT_NE(e.find("or torchvision's python version (data_batch_1, data_batch_2, data_batch_3, data_batch_4, data_batch_5, test_batch)"),
            std::string::npos) << e;
  EXPECT_NE(e.find("looked in " + empty.path() + ", " + empty.path() + "/cifar-10-batches-bin, " + empty.path() +
                   "/cifar-10-batches-py; download cifar-10-binary.tar.gz or cifar-10-python.tar.gz from https://"),
            std::string::npos) << "lists every folder tried: " << e;
  EXPECT_EQ(e.find("relative to the current directory"), std::string::npos) << "data.root was given: " << e;
}

// A missing dataset says which layouts it accepts, every folder tried as an absolute path, the
// closest partial match, and where the files come from.
TEST(CifarReader, MissingCifar100NamesLayoutsAndAbsoluteFolders) {
  TempDir d;
  std::filesystem::create_directories(d.file("cifar-100-python"));
  write_bytes(d.file("cifar-100-python/train"), "x");  // torchvision's folder, its test file missing
  const std::string e = error_of(section("cifar100", d.path()));
  EXPECT_NE(e.find("CIFAR-100 not found: no folder holds the binary version (train.bin, test.bin) or torchvision's python "
                   "version (train, test); looked in " + d.path() + ", " + d.path() + "/cifar-100-binary, " + d.path() +
                   "/cifar-100-python; " + d.path() + "/cifar-100-python holds train of torchvision's python version but not test; "
                   "download cifar-100-binary.tar.gz or cifar-100-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html"),
            std::string::npos) << e;
  EXPECT_NE(e.find("and set data.root to the folder holding the files"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << "one line: " << e;
  // torchvision's layout complete: read from its folder.
  write_bytes(d.file("cifar-100-python/test"), "x");
  EXPECT_NE(error_of(section("cifar100", d.path())).find(d.file("cifar-100-python/train")), std::string::npos)
      << "found the layout and read its train file";
}

#ifdef KDPRUNE_WITH_MATIO
namespace {
// Writes a MATLAB v5 file with X (32×32×3×n uint8, column-major) and y (n×1 double).
void write_svhn(const std::string& path, const std::vector<double>& y, bool y_uint8 = false, bool zlib = false) {
  const matio_compression how = zlib ? MAT_COMPRESSION_ZLIB : MAT_COMPRESSION_NONE;
  const size_t n = y.size();
  std::vector<uint8_t> x(3072 * n);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint8_t>(i % 253);
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT5);
  size_t xd[4] = {32, 32, 3, n};
  matvar_t* xv = Mat_VarCreate("X", MAT_C_UINT8, MAT_T_UINT8, 4, xd, x.data(), 0);
  Mat_VarWrite(mat, xv, how);
  Mat_VarFree(xv);
  size_t yd[2] = {n, 1};
  std::vector<uint8_t> y8(y.begin(), y.end());
  matvar_t* yv = y_uint8 ? Mat_VarCreate("y", MAT_C_UINT8, MAT_T_UINT8, 2, yd, y8.data(), 0)
                         : Mat_VarCreate("y", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, yd, const_cast<double*>(y.data()), 0);
  Mat_VarWrite(mat, yv, how);
  Mat_VarFree(yv);
  Mat_Close(mat);
}
}  // namespace

TEST(SvhnReader, CompressedFilesReadTheSame) {
  TempDir a, b;
  for (bool zlib : {false, true}) {
    const TempDir& d = zlib ? b : a;
    write_svhn(d.file("train_32x32.mat"), {10, 1, 5, 7}, false, zlib);
    write_svhn(d.file("test_32x32.mat"), {3, 10}, true, zlib);
  }
  const auto plain = data::load_dataset(section("svhn", a.path()), 0), packed = data::load_dataset(section("svhn", b.path()), 0);
  EXPECT_EQ(plain.train.images, packed.train.images);
  EXPECT_EQ(plain.train.labels, packed.train.labels);
  EXPECT_EQ(plain.test.labels, packed.test.labels);
  // A compressed file cut short: refused before matio reads it.
  const std::string whole = kdprune::test::read_bytes(b.file("train_32x32.mat"));
  write_bytes(b.file("train_32x32.mat"), whole.substr(0, whole.size() - 40));
  EXPECT_NE(error_of(section("svhn", b.path())).find("train_32x32.mat"), std::string::npos);
}

TEST(SvhnReader, TransposesAndMapsTenToZero) {
  TempDir d;
  write_svhn(d.file("train_32x32.mat"), {10, 1, 5});
  write_svhn(d.file("test_32x32.mat"), {3, 10}, true);
  auto ds = data::load_dataset(section("svhn", d.path()), 0);
  ASSERT_EQ(ds.train.n, 3);
  EXPECT_EQ(ds.train.labels, (std::vector<int64_t>{0, 1, 5}));
  EXPECT_EQ(ds.test.labels, (std::vector<int64_t>{3, 0}));
  // NCHW (n, ch, r, c) must hold MATLAB element r + 32c + 1024ch + 3072n.
  for (int64_t n : {0, 2})
    for (int64_t ch : {0, 2})
      for (int64_t r : {0, 5, 31})
        for (int64_t c : {0, 7, 31})
          EXPECT_EQ(ds.train.images[static_cast<size_t>(((n * 3 + ch) * 32 + r) * 32 + c)],
                    static_cast<uint8_t>((r + 32 * c + 1024 * ch + 3072 * n) % 253));
  EXPECT_FALSE(ds.info.flip);
}

// Every .mat the fuzzer once broke matio with (fuzz/regressions/svhn: sizes claiming terabytes,
// a v4 header): now one kdprune::Error naming the file, before matio allocates anything.
TEST(SvhnReader, FuzzRegressionsAreOneLineErrors) {
  const std::filesystem::path dir = std::filesystem::path(KDPRUNE_SOURCE_DIR) / "fuzz" / "regressions" / "svhn";
  int replayed = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string got = "accepted";
    try {
      data::read_svhn_mat(e.path().string());
    } catch (const Error& err) {
      got = err.what();
    }
    EXPECT_NE(got.find(e.path().string()), std::string::npos) << got;
    ++replayed;
  }
  EXPECT_GE(replayed, 3);
}

TEST(SvhnReader, MalformedFiles) {
  TempDir d;
  write_svhn(d.file("train_32x32.mat"), {11, 1});
  write_svhn(d.file("test_32x32.mat"), {1});
  EXPECT_NE(error_of(section("svhn", d.path())).find("not in 1..10"), std::string::npos);
  write_bytes(d.file("train_32x32.mat"), "this is not a mat file at all, not even close.........................................................................................................");
  EXPECT_NE(error_of(section("svhn", d.path())).find("train_32x32.mat"), std::string::npos);
  // A file cut short after its headers: the header claims more image bytes than the file holds.
  write_svhn(d.file("train_32x32.mat"), std::vector<double>(40, 1.0));
  const std::string whole = kdprune::test::read_bytes(d.file("train_32x32.mat"));
  write_bytes(d.file("train_32x32.mat"), whole.substr(0, 4096));
  const std::string e = error_of(section("svhn", d.path()));
  EXPECT_NE(e.find("train_32x32.mat"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}
#endif

TEST(Synthetic, SeededAndShaped) {
  DataSection d = section("synthetic", "");
  d.synthetic.train_size = 20;
  d.synthetic.test_size = 6;
  d.synthetic.channels = 2;
  d.synthetic.height = 5;
  d.synthetic.width = 4;
  d.synthetic.classes = 3;
  auto a = data::load_dataset(d, 7), b = data::load_dataset(d, 7), c = data::load_dataset(d, 8);
  EXPECT_EQ(a.train.images.size(), 20u * 2 * 5 * 4);
  EXPECT_EQ(a.train.images, b.train.images);
  EXPECT_NE(a.train.images, c.train.images);
  EXPECT_EQ(data::class_counts(a.train, 3), (std::vector<int64_t>{7, 7, 6}));
  // data.synthetic.seed draws the data in place of run.seed.
  d.synthetic.seed = 7;
  const auto pinned = data::load_dataset(d, 8);
  EXPECT_EQ(pinned.train.images, a.train.images);
  EXPECT_EQ(pinned.test.images, a.test.images);
  EXPECT_EQ(pinned.train.labels, a.train.labels);
}

TEST(Synthetic, SizesBeyondMemoryAreRefusedUpFront) {
  DataSection d = section("synthetic", "");
  d.synthetic.train_size = 99999999999999;
  EXPECT_NE(error_of(d).find("data.synthetic: 99999999999999 + "), std::string::npos) << error_of(d);
  d.synthetic.train_size = 10;
  d.synthetic.height = d.synthetic.width = 100000;
  EXPECT_NE(error_of(d).find("more than this machine's"), std::string::npos) << error_of(d);
}

TEST(Registry, UnknownDatasetListsKnown) {
  const std::string e = error_of(section("imagenet21k", ""));
  EXPECT_NE(e.find("cifar100"), std::string::npos) << e;
  EXPECT_NE(e.find("data.name"), std::string::npos) << e;
}

TEST(FashionMnist, RealDebianFiles) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist not installed";
  auto ds = data::load_dataset(section("fashion-mnist", ""), 0);
  EXPECT_EQ(ds.train.n, 60000);
  EXPECT_EQ(ds.test.n, 10000);
  EXPECT_EQ(data::class_counts(ds.train, 10), std::vector<int64_t>(10, 6000));
  EXPECT_EQ(ds.train.h, 28);
}
