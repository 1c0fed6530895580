#include "kdprune/io/npy.h"

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <regex>

#include "kdprune/io/atomic_file.h"
#include "kdprune/util/error.h"

namespace kdprune::io {
namespace {

static_assert(std::endian::native == std::endian::little, ".npy I/O assumes a little-endian host");

// `shape` as NumPy writes a tuple: "(5,)" for one axis, "(2, 3, 4)" for more.
template <class T>
void write_npy(const std::string& path, const char* descr, const std::vector<T>& values, const std::string& shape) {
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // magic(6) + version(2) + length(2) + header + '\n' must be a multiple of 64
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  const uint16_t len = static_cast<uint16_t>(header.size());
  bytes += static_cast<char>(len & 0xff);
  bytes += static_cast<char>(len >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  write_file_atomic(path, bytes);
}

struct NpyView {
  std::string descr;
  size_t count = 0;
  std::string bytes;  // whole file
  size_t data_offset = 0;
};

NpyView parse(const std::string& path) {
  NpyView v;
  v.bytes = read_file(path);
  const std::string& b = v.bytes;
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0)
    throw Error("'" + path + "': not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(b[6]);
  size_t hlen, hstart;
  if (major == 1) {
    hlen = static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) throw Error("'" + path + "': truncated .npy header");
    hlen = 0;
    for (int i = 3; i >= 0; --i) hlen = (hlen << 8) | static_cast<unsigned char>(b[8 + i]);
    hstart = 12;
  } else {
    throw Error("'" + path + "': unsupported .npy version " + std::to_string(major));
  }
  if (b.size() < hstart + hlen) throw Error("'" + path + "': truncated .npy header");
  const std::string header = b.substr(hstart, hlen);
  // The header is a Python dict literal padded with spaces and ended by a newline: one that is not
  // closed was cut or damaged, whatever the keys found in it say.
  const auto last = header.find_last_not_of(" \n");
  if (header.find('{') != 0 || last == std::string::npos || header[last] != '}')
    throw Error("'" + path + "': damaged .npy header (expected a {...} dict, got '" + header.substr(0, 80) + "')");
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([^']*)'")))
    throw Error("'" + path + "': .npy header has no descr");
  v.descr = m[1];
  if (std::regex_search(header, m, std::regex("'fortran_order':\\s*True")))
    throw Error("'" + path + "': expected C order, got fortran_order=True");
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(\\s*(\\d+)\\s*,?\\s*\\)")))
    throw Error("'" + path + "': expected a 1-D array, header says " + header);
  v.data_offset = hstart + hlen;
  // The data bytes bound the count; a header claiming more (or an absurd number) is refused
  // before anything is allocated.
  const std::string digits = m[1];
  const size_t available = b.size() - v.data_offset;
  if (digits.size() > 19 || std::stoull(digits) > available)
    throw Error("'" + path + "': header shape (" + digits + ",) needs more data than the file's " + std::to_string(available) +
                " bytes");
  v.count = std::stoull(digits);
  return v;
}

std::string format_double(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

size_t item_size(const std::string& path, const std::string& descr) {
  if (descr == "<f4" || descr == "<i4") return 4;
  if (descr == "<f8" || descr == "<i8") return 8;
  throw Error("'" + path + "': expected dtype float32/float64/int32/int64 (little-endian), got '" + descr + "'");
}

template <class Out>
std::vector<Out> read_as(const std::string& path) {
  NpyView v = parse(path);
  const size_t isz = item_size(path, v.descr);
  if (v.bytes.size() - v.data_offset != v.count * isz)
    throw Error("'" + path + "': expected " + std::to_string(v.count * isz) + " data bytes for " +
                std::to_string(v.count) + " items, file has " + std::to_string(v.bytes.size() - v.data_offset));
  std::vector<Out> out(v.count);
  const char* p = v.bytes.data() + v.data_offset;
  auto load = [&](auto tag, size_t i) {
    decltype(tag) x;
    std::memcpy(&x, p + i * sizeof(x), sizeof(x));
    return x;
  };
  for (size_t i = 0; i < v.count; ++i) {
    double x;
    if (v.descr == "<f4") x = load(float{}, i);
    else if (v.descr == "<f8") x = load(double{}, i);
    else if (v.descr == "<i4") x = load(int32_t{}, i);
    else {
      int64_t y = load(int64_t{}, i);
      out[i] = static_cast<Out>(y);
      continue;
    }
    if constexpr (std::is_integral_v<Out>) {
      if (!std::isfinite(x) || x != std::floor(x))
        throw Error("'" + path + "': item " + std::to_string(i) + " is not an integer index");
      if (std::fabs(x) >= 9.2e18)  // beyond int64: the cast would be undefined
        throw Error("'" + path + "': item " + std::to_string(i) + " (" + format_double(x) + ") is outside the integer range");
    }
    out[i] = static_cast<Out>(x);
  }
  return out;
}

}  // namespace

namespace {
std::string one_axis(size_t n) {
  std::string s = "(";  // appended, not "(" + ...: GCC 12 warns falsely (-Wrestrict) on that form
  s += std::to_string(n);
  s += ",)";
  return s;
}
}  // namespace

void write_npy_f32(const std::string& path, const std::vector<float>& values) {
  write_npy(path, "<f4", values, one_axis(values.size()));
}
void write_npy_i64(const std::string& path, const std::vector<int64_t>& values) {
  write_npy(path, "<i8", values, one_axis(values.size()));
}
void write_npy_u8(const std::string& path, const std::vector<int64_t>& shape, const std::vector<uint8_t>& values) {
  size_t count = 1;
  std::string dims;
  for (int64_t s : shape) {
    if (s < 0) throw InternalError("write_npy_u8: negative dimension");
    count *= static_cast<size_t>(s);
    dims += (dims.empty() ? "" : ", ") + std::to_string(s);
  }
  if (shape.empty() || count != values.size())
    throw InternalError("write_npy_u8: shape (" + dims + ") does not hold " + std::to_string(values.size()) + " values");
  write_npy(path, "|u1", values, shape.size() == 1 ? one_axis(count) : "(" + dims + ")");
}
std::vector<double> read_npy_as_f64(const std::string& path) { return read_as<double>(path); }
std::vector<int64_t> read_npy_as_i64(const std::string& path) { return read_as<int64_t>(path); }

}  // namespace kdprune::io
