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

// Bytes per element of a stored data type (miINT8 = 1 ... miUINT64 = 13); 0 for the others.
uint64_t type_bytes(uint32_t type) {
  switch (type) {
    case 1: case 2: return 1;
    case 3: case 4: return 2;
    case 5: case 6: case 7: return 4;
    case 9: case 12: case 13: return 8;
    default: return 0;
  }
}

// A tag at m[at]: type, size and where its data starts; small elements pack both in 8 bytes.
struct Tag {
  uint32_t type = 0, bytes = 0;
  size_t data = 0, next = 0;
};
bool read_tag(const Reader& r, const std::vector<unsigned char>& m, size_t at, Tag& t) {
  if (at + 8 > m.size()) return false;
  t.type = r.u32(&m[at]);
  if (t.type >> 16) {
    t.bytes = t.type >> 16, t.type &= 0xffff, t.data = at + 4, t.next = at + 8;
  } else {
    t.bytes = r.u32(&m[at + 4]), t.data = at + 8, t.next = at + 8 + (uint64_t{t.bytes} + 7) / 8 * 8;
  }
  return true;
}

// Checks a matrix's header (flags, dims, name, the size of its data) in `m` (its first bytes)
// against `budget`, the most data bytes it can hold.
void check_matrix(const Reader& r, const std::vector<unsigned char>& m, uint64_t budget, int index) {
  const std::string which = "variable " + std::to_string(index + 1);
  if (m.size() < 16) r.fail(which + ": truncated array header");
  const uint32_t flags = r.u32(&m[8]), cls = flags & 0xff;
  // matio frees a complex array's data when its imaginary part is missing but keeps the pointer
  // (found by fuzzing); SVHN's arrays are real and dense.
  if (flags & 0x0800) r.fail(which + ": a complex array (expected real data)");
  if (cls == 5) r.fail(which + ": a sparse array (expected dense data)");
  Tag dims_tag;
  if (!read_tag(r, m, 16, dims_tag)) r.fail(which + ": truncated dimensions");
  const uint32_t dims_bytes = dims_tag.bytes;
  if (dims_tag.type != kMiInt32 || dims_bytes % 4 != 0 || dims_bytes < 8 || dims_bytes > 4 * 32 ||
      dims_tag.data + dims_bytes > m.size())
    r.fail(which + ": malformed dimensions (" + std::to_string(dims_bytes) + " bytes)");
  const unsigned char* dims = &m[dims_tag.data];
  uint64_t count = 1;
  for (uint32_t k = 0; k < dims_bytes / 4; ++k) {
    const uint64_t d = r.u32(dims + 4 * k);
    if (d > budget || (d != 0 && count > budget / d)) {
      count = budget + 1;
      break;
    }
    count *= d;
  }
  if (count > budget / class_bytes(cls))
    r.fail(which + ": its dimensions claim more data than the file holds (truncated or damaged)");
  // The real part of a numeric array must hold every element (MATLAB may store a double array
  // as a smaller integer type, so the stored type's size counts). Checked when the header read
  // reaches it (names are short).
  Tag name, data;
  // The name: matio allocates its claimed length (found by fuzzing: 1.4 GB names).
  if (!read_tag(r, m, dims_tag.next, name)) r.fail(which + ": truncated array header (no name)");
  if (name.bytes > budget || name.bytes > 4096) r.fail(which + ": a name of " + std::to_string(name.bytes) + " bytes");
  if (cls < 6 || cls > 15 || !read_tag(r, m, name.next, data)) return;
  if (data.bytes > budget) r.fail(which + ": its data claims " + std::to_string(data.bytes) + " bytes, more than the file holds");
  const uint64_t size = type_bytes(data.type);
  if (size == 0) r.fail(which + ": unknown data type " + std::to_string(data.type));
  if (count > data.bytes / size)
    r.fail(which + ": holds " + std::to_string(data.bytes) + " data bytes, its dimensions need " +
           std::to_string(count * size) + " (truncated or damaged)");
}

// matio frees a compressed variable's data when its stream ends early but keeps the pointer
// (found by fuzzing: a use after free). The whole stream must inflate to exactly what its
// matrix tag claims.
void check_inflates_to(const Reader& r, std::ifstream& in, uint64_t at, uint64_t bytes, uint64_t want, int index) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) r.fail("zlib unavailable");
  std::vector<unsigned char> chunk(1 << 16), out(1 << 16);
  uint64_t total = 0, left = bytes;
  int rc = Z_OK;
  in.seekg(static_cast<std::streamoff>(at));
  while (rc != Z_STREAM_END && total <= want) {
    if (z.avail_in == 0) {
      if (left == 0) break;
      const uint64_t n = std::min<uint64_t>(left, chunk.size());
      in.read(reinterpret_cast<char*>(chunk.data()), static_cast<std::streamsize>(n));
      left -= n;
      z.next_in = chunk.data(), z.avail_in = static_cast<uInt>(n);
    }
    z.next_out = out.data(), z.avail_out = static_cast<uInt>(out.size());
    rc = inflate(&z, Z_NO_FLUSH);
    total += out.size() - z.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) break;
    if (rc == Z_BUF_ERROR && z.avail_in == 0 && left == 0) break;
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END || total != want)
    r.fail("variable " + std::to_string(index + 1) + ": its compressed data inflates to " + std::to_string(total) +
           " bytes, its header claims " + std::to_string(want) + " (truncated or damaged)");
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
    // A v5 file is a sequence of variables; matio misreads anything else at the top level (found
    // by fuzzing: a 4 GB allocation from a stray element after the last variable).
    if (type != kMiMatrix && type != kMiCompressed)
      r.fail("element " + std::to_string(index + 1) + " at byte " + std::to_string(at) + " is not a variable (type " +
             std::to_string(type) + ")");
    if (bytes > size - at - 8) r.fail("variable " + std::to_string(index + 1) + " claims " + std::to_string(bytes) +
                                      " bytes, the file has " + std::to_string(size - at - 8) + " left (truncated?)");
    std::vector<unsigned char> head(std::min<uint64_t>(bytes, 4096));
    in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
    if (type == kMiMatrix) {
      check_matrix(r, head, bytes, index);
    } else if (type == kMiCompressed) {
      // The matrix header at the start of the deflated stream; its data can be at most the
      // compressed size times deflate's largest ratio.
      std::vector<unsigned char> compressed(std::min<uint64_t>(bytes, 1 << 16));
      in.seekg(static_cast<std::streamoff>(at + 8));
      in.read(reinterpret_cast<char*>(compressed.data()), static_cast<std::streamsize>(compressed.size()));
      std::vector<unsigned char> plain(4096);
      z_stream z{};
      if (inflateInit(&z) != Z_OK) r.fail("zlib unavailable");
      z.next_in = compressed.data(), z.avail_in = static_cast<uInt>(compressed.size());
      z.next_out = plain.data(), z.avail_out = static_cast<uInt>(plain.size());
      const int rc = inflate(&z, Z_SYNC_FLUSH);
      plain.resize(plain.size() - z.avail_out);
      inflateEnd(&z);
      if ((rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) || plain.size() < 8)
        r.fail("variable " + std::to_string(index + 1) + ": damaged compressed data");
      if (r.u32(plain.data()) != kMiMatrix)
        r.fail("variable " + std::to_string(index + 1) + ": compressed data that is not an array");
      {
        const uint64_t inner = r.u32(plain.data() + 4);
        const uint64_t budget = std::min<uint64_t>(inner, uint64_t{bytes} * kMaxInflateRatio + 4096);
        std::vector<unsigned char> m(plain.begin() + 8, plain.end());
        check_matrix(r, m, budget, index);
        check_inflates_to(r, in, at + 8, bytes, 8 + inner, index);
      }
    }
    at += 8 + bytes;
    if (type != kMiCompressed) at = (at + 7) / 8 * 8;  // uncompressed elements are padded to 8 bytes
  }
}

}  // namespace kdprune::data
