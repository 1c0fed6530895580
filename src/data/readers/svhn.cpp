// SVHN cropped digits: MATLAB v5 files with X (32×32×3×N uint8, column-major) and y (N×1, 1..10,
// where 10 means digit 0). Read through matio when built with it.
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "kdprune/util/error.h"
#include "readers.h"
#ifdef KDPRUNE_WITH_MATIO
#include <matio.h>
#endif

namespace kdprune::data {

#ifdef KDPRUNE_WITH_MATIO
namespace {
struct MatFile {
  mat_t* mat = nullptr;
  ~MatFile() { if (mat) Mat_Close(mat); }
};
struct MatVar {
  matvar_t* var = nullptr;
  ~MatVar() { if (var) Mat_VarFree(var); }
};
}  // namespace

ImageSplit read_svhn_mat(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw Error("'" + path + "': cannot open");
  if (FILE* probe = std::fopen(path.c_str(), "rb")) std::fclose(probe);
  else throw Error("'" + path + "': cannot open (" + std::strerror(errno) + ")");
  check_mat_v5(path);
  MatFile f{Mat_Open(path.c_str(), MAT_ACC_RDONLY)};
  if (!f.mat) throw Error("'" + path + "': not a readable MATLAB file (v7.3/HDF5 files need matio built with HDF5)");
  MatVar x{Mat_VarRead(f.mat, "X")}, y{Mat_VarRead(f.mat, "y")};
  if (!x.var) throw Error("'" + path + "': no variable 'X'");
  if (!y.var) throw Error("'" + path + "': no variable 'y'");
  if (x.var->class_type != MAT_C_UINT8 || x.var->rank != 4 || x.var->dims[0] != 32 || x.var->dims[1] != 32 ||
      x.var->dims[2] != 3 || !x.var->data)
    throw Error("'" + path + "': X must be uint8 of size 32x32x3xN");
  const int64_t n = static_cast<int64_t>(x.var->dims[3]);
  size_t ny = 1;
  for (int d = 0; d < y.var->rank; ++d) ny = y.var->dims[d] && ny > SIZE_MAX / y.var->dims[d] ? SIZE_MAX : ny * y.var->dims[d];
  if (static_cast<int64_t>(ny) != n || !y.var->data)
    throw Error("'" + path + "': " + std::to_string(ny) + " labels in y for " + std::to_string(n) + " images in X");
  // matio does not notice a header that claims more data than the file holds (it hands back a
  // short-read buffer); uncompressed data must fit in the file.
  const size_t x_bytes = static_cast<size_t>(n) * 3072;
  if (x.var->nbytes < x_bytes)
    throw Error("'" + path + "': X holds " + std::to_string(x.var->nbytes) + " bytes, its size 32x32x3x" +
                std::to_string(n) + " needs " + std::to_string(x_bytes));
  // The same for y: its buffer must hold a label per image (found by fuzzing: a compressed y
  // whose data ends early).
  if (y.var->class_type != MAT_C_DOUBLE && y.var->class_type != MAT_C_UINT8)
    throw Error("'" + path + "': y must be double or uint8");
  const size_t y_bytes = static_cast<size_t>(n) * (y.var->class_type == MAT_C_DOUBLE ? 8 : 1);
  if (y.var->nbytes < y_bytes || (y.var->data_size != 0 && y.var->data_size != (y.var->class_type == MAT_C_DOUBLE ? 8 : 1)))
    throw Error("'" + path + "': y holds " + std::to_string(y.var->nbytes) + " bytes, " + std::to_string(n) +
                " labels need " + std::to_string(y_bytes));
  if (x.var->data_size != 0 && x.var->data_size != 1)
    throw Error("'" + path + "': X must be uint8 (its elements are " + std::to_string(x.var->data_size) + " bytes)");
  std::error_code ec;
  const auto file_bytes = std::filesystem::file_size(path, ec);
  if (!ec && x.var->compression == MAT_COMPRESSION_NONE && x_bytes > file_bytes)
    throw Error("'" + path + "': truncated: X claims " + std::to_string(x_bytes) + " bytes of images, the file has " +
                std::to_string(file_bytes));
  ImageSplit s;
  s.n = n;
  s.c = 3;
  s.h = 32;
  s.w = 32;
  s.images.resize(static_cast<size_t>(n * 3072));
  s.labels.resize(static_cast<size_t>(n));
  const auto* src = static_cast<const uint8_t*>(x.var->data);
  // MATLAB (r, c, ch, n) at r + 32c + 1024ch + 3072n  ->  N×C×H×W (n, ch, r, c)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < 3; ++ch)
      for (int64_t r = 0; r < 32; ++r)
        for (int64_t c = 0; c < 32; ++c)
          s.images[static_cast<size_t>(((i * 3 + ch) * 32 + r) * 32 + c)] = src[r + 32 * c + 1024 * ch + 3072 * i];
  for (int64_t i = 0; i < n; ++i) {
    double v;
    if (y.var->class_type == MAT_C_DOUBLE) v = static_cast<const double*>(y.var->data)[i];
    else if (y.var->class_type == MAT_C_UINT8) v = static_cast<const uint8_t*>(y.var->data)[i];
    else throw Error("'" + path + "': y must be double or uint8");
    if (!(v >= 1 && v <= 10) || v != std::floor(v))  // NaN fails the first test, before any cast
      throw Error("'" + path + "': label " + std::to_string(v) + " of item " + std::to_string(i) + " is not in 1..10");
    s.labels[static_cast<size_t>(i)] = static_cast<int64_t>(v) % 10;  // 10 means digit 0
  }
  return s;
}
#else
ImageSplit read_svhn_mat(const std::string& path) {
  throw Error("'" + path + "': this kdprune was built without matio (KDPRUNE_WITH_MATIO=OFF); install libmatio-dev and rebuild to read SVHN");
}
#endif

RawDataset load_svhn(const DataSection& data, int64_t) {
  const auto dirs = candidate_dirs(data.root, "data/svhn", {"svhn"});
  const auto found = find_layout({"SVHN",
                                  {{"the cropped digits (format 2)", {{"train_32x32.mat"}, {"test_32x32.mat"}}}},
                                  "download train_32x32.mat and test_32x32.mat from http://ufldl.stanford.edu/housenumbers/ "
                                  "(torchvision.datasets.SVHN(root, split=..., download=True) saves the same files in root)"},
                                 data, dirs);
  const std::string& train = found.paths[0];
  const std::string& test = found.paths[1];
  RawDataset ds;
  ds.train = read_svhn_mat(train);
  ds.test = read_svhn_mat(test);
  ds.source = std::filesystem::path(train).parent_path().string();
  ds.info = {"svhn", 10, {0.4377f, 0.4438f, 0.4728f}, {0.1980f, 0.2010f, 0.1970f}, false,
             {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}};
  return ds;
}

}  // namespace kdprune::data
