#include "kdprune/io/zip_check.h"

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

#include "kdprune/util/error.h"

namespace kdprune::io {
namespace {

uint64_t le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

class File {
 public:
  File(const std::string& path, const std::string& what) : in_(path, std::ios::binary), what_(what) {
    if (!in_) throw Error(what_ + ": cannot open");
    in_.seekg(0, std::ios::end);
    size_ = static_cast<uint64_t>(in_.tellg());
  }
  uint64_t size() const { return size_; }
  std::vector<unsigned char> read(uint64_t offset, uint64_t n, const char* part) {
    if (offset > size_ || n > size_ - offset) fail(std::string("truncated (") + part + " beyond the end of the file)");
    std::vector<unsigned char> b(n);
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(n));
    if (!in_) fail(std::string("cannot read ") + part);
    return b;
  }
  [[noreturn]] void fail(const std::string& why) const { throw Error(what_ + ": " + why); }

 private:
  std::ifstream in_;
  std::string what_;
  uint64_t size_ = 0;
};

// LibTorch's unpickler allocates the length a string or bytes opcode claims before it reads the
// bytes (found by fuzzing: a 4 GiB string in data.pkl). Walks the opcodes of a pickle and returns
// "" if every length fits in what is left, else what is wrong.
std::string check_pickle_lengths(const std::vector<unsigned char>& p) {
  size_t i = 0;
  auto left = [&] { return p.size() - i; };
  auto need = [&](uint64_t n) { return n <= left(); };
  while (i < p.size()) {
    const unsigned char op = p[i++];
    uint64_t len = 0;
    switch (op) {
      case '.': return "";  // STOP
      // no argument
      case '(': case '0': case '1': case '2': case 'N': case ')': case ']': case '}': case 'a': case 'e': case 's':
      case 'u': case 'b': case 'R': case 't': case 'l': case 'd': case 'o': case 0x85: case 0x86: case 0x87: case 0x88:
      case 0x89: case 0x81: case 0x92: case 0x93: case 0x94: case 'Q': case 0x8f: case 0x90: case 0x91: case 0x97:
      case 0x98:
        break;
      case 'K': case 'q': case 'h': case 0x80: case 0x82: i += 1; break;
      case 'M': case 0x83: i += 2; break;
      case 'J': case 'r': case 'j': case 0x84: i += 4; break;
      case 'G': case 0x95: i += 8; break;
      case 'C': case 'U': case 0x8c: case 0x8a:  // 1-byte length, then the bytes
        if (!need(1)) return "truncated pickle";
        len = p[i], i += 1;
        if (!need(len)) return "a pickle string of " + std::to_string(len) + " bytes runs past the end of its record";
        i += len;
        break;
      case 'T': case 'X': case 'B': case 0x8b:  // 4-byte length
        if (!need(4)) return "truncated pickle";
        len = le(&p[i], 4), i += 4;
        if (!need(len)) return "a pickle string of " + std::to_string(len) + " bytes runs past the end of its record";
        i += len;
        break;
      case 0x8d: case 0x8e: case 0x96:  // 8-byte length
        if (!need(8)) return "truncated pickle";
        len = le(&p[i], 8), i += 8;
        if (!need(len)) return "a pickle string of " + std::to_string(len) + " bytes runs past the end of its record";
        i += len;
        break;
      case 'I': case 'L': case 'F': case 'S': case 'V': case 'P': case 'g': case 'p': case 'c': case 'i': {
        const int lines = op == 'c' || op == 'i' ? 2 : 1;
        for (int k = 0; k < lines; ++k) {
          while (i < p.size() && p[i] != '\n') ++i;
          if (i == p.size()) return "truncated pickle";
          ++i;
        }
        break;
      }
      default: return "unknown pickle opcode " + std::to_string(op);
    }
    if (i > p.size()) return "truncated pickle";
  }
  return "a pickle without its STOP opcode";
}

}  // namespace

void verify_zip_crcs(const std::string& path, const std::string& what) {
  File f(path, what);
  // End of central directory: 22 bytes plus a comment of up to 64 KiB, at the end of the file.
  const uint64_t tail = std::min<uint64_t>(f.size(), 22 + 65535);
  if (tail < 22) f.fail("not a LibTorch archive (too short to be a zip file)");
  const auto end = f.read(f.size() - tail, tail, "end of the archive");
  int64_t eocd = -1;
  for (int64_t i = static_cast<int64_t>(tail) - 22; i >= 0; --i)
    if (le(&end[static_cast<size_t>(i)], 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0) f.fail("not a LibTorch archive (no zip directory; truncated?)");
  const unsigned char* e = &end[static_cast<size_t>(eocd)];
  uint64_t entries = le(e + 10, 2), dir_size = le(e + 12, 4), dir_offset = le(e + 16, 4);
  if (entries == 0xFFFF || dir_size == 0xFFFFFFFF || dir_offset == 0xFFFFFFFF) {
    // Zip64: a locator 20 bytes before the end record points at the zip64 end record.
    const uint64_t at = f.size() - tail + static_cast<uint64_t>(eocd);
    if (at < 20) f.fail("damaged zip64 directory");
    const auto loc = f.read(at - 20, 20, "zip64 locator");
    if (le(loc.data(), 4) != 0x07064b50) f.fail("damaged zip64 directory");
    const auto z = f.read(le(loc.data() + 8, 8), 56, "zip64 directory record");
    if (le(z.data(), 4) != 0x06064b50) f.fail("damaged zip64 directory");
    entries = le(z.data() + 32, 8), dir_size = le(z.data() + 40, 8), dir_offset = le(z.data() + 48, 8);
  }
  const auto dir = f.read(dir_offset, dir_size, "zip directory");
  std::vector<unsigned char> chunk;
  for (uint64_t k = 0, p = 0; k < entries; ++k) {
    if (p + 46 > dir.size() || le(&dir[p], 4) != 0x02014b50) f.fail("damaged zip directory (entry " + std::to_string(k) + ")");
    const unsigned char* c = &dir[p];
    const uint64_t method = le(c + 10, 2), crc = le(c + 16, 4), name_len = le(c + 28, 2), extra_len = le(c + 30, 2),
                   comment_len = le(c + 32, 2);
    uint64_t csize = le(c + 20, 4), usize = le(c + 24, 4), local = le(c + 42, 4);
    if (p + 46 + name_len + extra_len > dir.size()) f.fail("damaged zip directory (entry " + std::to_string(k) + ")");
    const std::string name(reinterpret_cast<const char*>(c + 46), name_len);
    // Zip64 sizes and offset, in that order, for the fields that overflowed.
    for (uint64_t x = 0; x + 4 <= extra_len;) {
      const unsigned char* h = c + 46 + name_len + x;
      const uint64_t id = le(h, 2), len = le(h + 2, 2);
      if (x + 4 + len > extra_len) break;
      if (id == 0x0001) {
        const unsigned char* v = h + 4;
        const unsigned char* v_end = v + len;
        if (usize == 0xFFFFFFFF && v + 8 <= v_end) usize = le(v, 8), v += 8;
        if (csize == 0xFFFFFFFF && v + 8 <= v_end) csize = le(v, 8), v += 8;
        if (local == 0xFFFFFFFF && v + 8 <= v_end) local = le(v, 8), v += 8;
      }
      x += 4 + len;
    }
    p += 46 + name_len + extra_len + comment_len;
    // Where the record's bytes begin: after its local header, which must agree it is one.
    auto data_start = [&] {
      const auto lh = f.read(local, 30, "a record header");
      if (le(lh.data(), 4) != 0x04034b50) f.fail("record '" + name + "': damaged record header");
      const uint64_t at = local + 30 + le(lh.data() + 26, 2) + le(lh.data() + 28, 2);
      if (at > f.size() || csize > f.size() - at) f.fail("truncated (record '" + name + "' beyond the end of the file)");
      return at;
    };
    if (method == 8) {
      // LibTorch deflates its code records. Its reader allocates the size the directory claims
      // (found by fuzzing: 27 GB), so the record is inflated here first: it must give exactly that
      // many bytes with the recorded CRC-32.
      const uint64_t at = data_start();
      if (usize > csize * 1100 + 4096) f.fail("record '" + name + "': damaged sizes in the zip directory");
      const auto packed = f.read(at, csize, "a record");
      std::vector<unsigned char> plain(usize + 1);
      z_stream z{};
      if (inflateInit2(&z, -MAX_WBITS) != Z_OK) f.fail("zlib unavailable");
      z.next_in = const_cast<unsigned char*>(packed.data()), z.avail_in = static_cast<uInt>(csize);
      z.next_out = plain.data(), z.avail_out = static_cast<uInt>(plain.size());
      const int rc = inflate(&z, Z_FINISH);
      const uint64_t got = plain.size() - z.avail_out;
      inflateEnd(&z);
      if (rc != Z_STREAM_END || got != usize || crc32(crc32(0L, Z_NULL, 0), plain.data(), static_cast<uInt>(got)) != crc)
        f.fail("record '" + name + "' is corrupt (its compressed data does not match its size and CRC-32)");
      continue;
    }
    if (method != 0) f.fail("record '" + name + "': compression method " + std::to_string(method) + " (LibTorch writes 0 and 8)");
    if (csize != usize) f.fail("record '" + name + "': damaged sizes in the zip directory");
    uint64_t at = data_start();
    uLong sum = crc32(0L, Z_NULL, 0);
    const bool pickle = name.size() > 4 && name.compare(name.size() - 4, 4, ".pkl") == 0 && csize <= (64u << 20);
    std::vector<unsigned char> whole;
    for (uint64_t left = csize; left > 0;) {
      const uint64_t n = std::min<uint64_t>(left, 1 << 22);
      chunk = f.read(at, n, "a record");
      sum = crc32(sum, chunk.data(), static_cast<uInt>(n));
      if (pickle) whole.insert(whole.end(), chunk.begin(), chunk.end());
      at += n, left -= n;
    }
    if (sum != crc)
      f.fail("record '" + name + "' is corrupt (CRC-32 mismatch: the file was damaged after it was written)");
    if (pickle)
      if (const std::string bad = check_pickle_lengths(whole); !bad.empty()) f.fail("record '" + name + "': " + bad);
  }
}

}  // namespace kdprune::io
