// A walk over a MATLAB v5 file's element headers before matio reads it. matio trusts the sizes
// the headers claim and allocates them (found by fuzzing: a dims tag or a second variable claiming
// terabytes, a v4 name length); a file that cannot hold what it claims is refused here.
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "kdprune/util/error.h"
#include "readers.h"

namespace kdprune::data {
namespace {

constexpr uint32_t kMiInt32 = 5, kMiMatrix = 14, kMiCompressed = 15;
// Deflate cannot expand data by more than about 1032:1.
constexpr uint64_t kMaxInflateRatio = 1100;

struct Reader {
  const std::string& path;
  bool swap;
  uint32_t u32(const unsigned char* p) const {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
  }
  [[noreturn]] void fail(const std::string& why) const { throw Error("'" + path + "': " + why); }
};

// Bytes per element of a numeric array class (mxDOUBLE_CLASS = 6 ... mxUINT64_CLASS = 15); 1 for
// the others (char, cell, struct, logical), which bound the element count by the bytes alone.
uint64_t class_bytes(uint32_t cls) {
  switch (cls) {
    case 6: case 14: case 15: return 8;
    case 7: case 12: case 13: return 4;
    case 10: case 11: return 2;
    default: return 1;
  }
}

// Checks a matrix's header (flags, dims, name) in `m` (its first bytes) against `budget`, the
// most data bytes it can hold.
void check_matrix(const Reader& r, const std::vector<unsigned char>& m, uint64_t budget, int index) {
  const std::string which = "variable " + std::to_string(index + 1);
  if (m.size() < 16) r.fail(which + ": truncated array header");
  const uint32_t cls = r.u32(&m[8]) & 0xff;
  size_t at = 16;
  if (m.size() < at + 8) r.fail(which + ": truncated dimensions");
  uint32_t dims_type = r.u32(&m[at]), dims_bytes = r.u32(&m[at + 4]);
  const unsigned char* dims = &m[at + 8];
  if (dims_type >> 16) {  // small element: the size sits in the upper half of the type word
    dims_bytes = dims_type >> 16, dims_type &= 0xffff, dims = &m[at + 4];
  }
  if (dims_type != kMiInt32 || dims_bytes % 4 != 0 || dims_bytes < 8 || dims_bytes > 4 * 32 ||
      dims + dims_bytes > m.data() + m.size())
    r.fail(which + ": malformed dimensions (" + std::to_string(dims_bytes) + " bytes)");
  uint64_t count = 1;
  for (uint32_t k = 0; k < dims_bytes / 4; ++k) {
    const uint64_t d = r.u32(dims + 4 * k);
    if (d > budget || (d != 0 && count > budget / d)) {
      count = budget + 1;
      break;
    }
    count *= d;
  }
  if (count > budget / class_bytes(cls) + (count == 0 ? 1 : 0))
    r.fail(which + ": its dimensions claim more data than the file holds (truncated or damaged)");
}

}  // namespace

void check_mat_v5(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("'" + path + "': cannot open");
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  unsigned char header[128];
  if (size < 128 || !in.read(reinterpret_cast<char*>(header), 128)) throw Error("'" + path + "': not a MATLAB v5 file (too short)");
  const bool le = header[126] == 'I' && header[127] == 'M', be = header[126] == 'M' && header[127] == 'I';
  Reader r{path, be};
  if (!le && !be) r.fail("not a MATLAB v5 file (SVHN's .mat files are v5; v4 files are not read)");
  const unsigned version = le ? header[124] | header[125] << 8 : header[125] | header[124] << 8;
  if (version == 0x0200) r.fail("a MATLAB v7.3 (HDF5) file; save it as v7 or v6 (-v7), as SVHN's own files are");
  if (version != 0x0100) r.fail("not a MATLAB v5 file (version 0x" + std::to_string(version) + ")");
  uint64_t at = 128;
  for (int index = 0; at + 8 <= size; ++index) {
    unsigned char tag[8];
    in.seekg(static_cast<std::streamoff>(at));
    if (!in.read(reinterpret_cast<char*>(tag), 8)) r.fail("cannot read");
    const uint32_t type = r.u32(tag), bytes = r.u32(tag + 4);
    if (type >> 16) {  // a small element at the top level: 8 bytes in all
      at += 8;
      continue;
    }
    if (bytes > size - at - 8) r.fail("variable " + std::to_string(index + 1) + " claims " + std::to_string(bytes) +
                                      " bytes, the file has " + std::to_string(size - at - 8) + " left (truncated?)");
    std::vector<unsigned char> head(std::min<uint64_t>(bytes, 256));
    in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
    if (type == kMiMatrix) {
      check_matrix(r, head, bytes, index);
    } else if (type == kMiCompressed) {
      // The matrix header at the start of the deflated stream; its data can be at most the
      // compressed size times deflate's largest ratio.
      std::vector<unsigned char> compressed(std::min<uint64_t>(bytes, 1 << 16));
      in.seekg(static_cast<std::streamoff>(at + 8));
      in.read(reinterpret_cast<char*>(compressed.data()), static_cast<std::streamsize>(compressed.size()));
      std::vector<unsigned char> plain(256);
      z_stream z{};
      if (inflateInit(&z) != Z_OK) r.fail("zlib unavailable");
      z.next_in = compressed.data(), z.avail_in = static_cast<uInt>(compressed.size());
      z.next_out = plain.data(), z.avail_out = static_cast<uInt>(plain.size());
      const int rc = inflate(&z, Z_SYNC_FLUSH);
      plain.resize(plain.size() - z.avail_out);
      inflateEnd(&z);
      if ((rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) || plain.size() < 8)
        r.fail("variable " + std::to_string(index + 1) + ": damaged compressed data");
      if (r.u32(plain.data()) == kMiMatrix) {
        const uint64_t budget = std::min<uint64_t>(r.u32(plain.data() + 4), uint64_t{bytes} * kMaxInflateRatio + 4096);
        std::vector<unsigned char> m(plain.begin() + 8, plain.end());
        check_matrix(r, m, budget, index);
      }
    }
    at += 8 + bytes;
    if (type != kMiCompressed) at = (at + 7) / 8 * 8;  // uncompressed elements are padded to 8 bytes
  }
}

}  // namespace kdprune::data
