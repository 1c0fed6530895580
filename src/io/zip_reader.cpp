#include "kdprune/io/zip_reader.h"

#include <zlib.h>

#include <algorithm>

#include "kdprune/util/error.h"

namespace kdprune::io {
uint64_t read_le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

namespace {
uint64_t le(const unsigned char* p, int bytes) { return read_le(p, bytes); }
}  // namespace

void ZipReader::fail(const std::string& why) const { throw Error(what_ + ": " + why); }

std::vector<unsigned char> ZipReader::read_at(uint64_t offset, uint64_t n, const char* part) {
  if (offset > size_ || n > size_ - offset) fail(std::string("truncated (") + part + " beyond the end of the file)");
  std::vector<unsigned char> b(n);
  in_.seekg(static_cast<std::streamoff>(offset));
  in_.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(n));
  if (!in_) fail(std::string("cannot read ") + part);
  return b;
}

ZipReader::ZipReader(const std::string& path, const std::string& what) : in_(path, std::ios::binary), what_(what) {
  if (!in_) fail("cannot open");
  in_.seekg(0, std::ios::end);
  size_ = static_cast<uint64_t>(in_.tellg());
  // End of central directory: 22 bytes plus a comment of up to 64 KiB, at the end of the file.
  const uint64_t tail = std::min<uint64_t>(size_, 22 + 65535);
  if (tail < 22) fail("not a zip archive (too short)");
  const auto end = read_at(size_ - tail, tail, "end of the archive");
  int64_t eocd = -1;
  for (int64_t i = static_cast<int64_t>(tail) - 22; i >= 0; --i)
    if (le(&end[static_cast<size_t>(i)], 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0) fail("not a zip archive (no zip directory; truncated?)");
  const unsigned char* e = &end[static_cast<size_t>(eocd)];
  uint64_t count = le(e + 10, 2), dir_size = le(e + 12, 4), dir_offset = le(e + 16, 4);
  // One disk, every entry on it, and the comment up to the end of the file: what every writer of
  // model files produces; anything else is a damaged end record (miniz would refuse it later,
  // as an "internal error").
  if (le(e + 4, 2) != 0 || le(e + 6, 2) != 0 || le(e + 8, 2) != count ||
      static_cast<uint64_t>(eocd) + 22 + le(e + 20, 2) != tail)
    fail("damaged zip directory (its end record is inconsistent: the file is damaged or truncated)");
  if (count == 0xFFFF || dir_size == 0xFFFFFFFF || dir_offset == 0xFFFFFFFF) {
    // Zip64: a locator 20 bytes before the end record points at the zip64 end record.
    const uint64_t at = size_ - tail + static_cast<uint64_t>(eocd);
    if (at < 20) fail("damaged zip64 directory");
    const auto loc = read_at(at - 20, 20, "zip64 locator");
    if (le(loc.data(), 4) != 0x07064b50) fail("damaged zip64 directory");
    const auto z = read_at(le(loc.data() + 8, 8), 56, "zip64 directory record");
    if (le(z.data(), 4) != 0x06064b50) fail("damaged zip64 directory");
    count = le(z.data() + 32, 8), dir_size = le(z.data() + 40, 8), dir_offset = le(z.data() + 48, 8);
  }
  const auto dir = read_at(dir_offset, dir_size, "zip directory");
  // Every entry takes at least 46 bytes of the directory: bounds `count` before reserving.
  if (count > dir.size() / 46) fail("damaged zip directory (more entries than it can hold)");
  entries_.reserve(count);
  for (uint64_t k = 0, p = 0; k < count; ++k) {
    if (p + 46 > dir.size() || le(&dir[p], 4) != 0x02014b50) fail("damaged zip directory (entry " + std::to_string(k) + ")");
    const unsigned char* c = &dir[p];
    ZipEntry z;
    z.method = le(c + 10, 2), z.crc = le(c + 16, 4);
    const uint64_t name_len = le(c + 28, 2), extra_len = le(c + 30, 2), comment_len = le(c + 32, 2);
    z.packed_size = le(c + 20, 4), z.size = le(c + 24, 4), z.header_offset = le(c + 42, 4);
    if (p + 46 + name_len + extra_len > dir.size()) fail("damaged zip directory (entry " + std::to_string(k) + ")");
    z.name.assign(reinterpret_cast<const char*>(c + 46), name_len);
    // Zip64 sizes and offset, in that order, for the fields that overflowed.
    for (uint64_t x = 0; x + 4 <= extra_len;) {
      const unsigned char* h = c + 46 + name_len + x;
      const uint64_t id = le(h, 2), len = le(h + 2, 2);
      if (x + 4 + len > extra_len) break;
      if (id == 0x0001) {
        const unsigned char* v = h + 4;
        const unsigned char* v_end = v + len;
        if (z.size == 0xFFFFFFFF && v + 8 <= v_end) z.size = le(v, 8), v += 8;
        if (z.packed_size == 0xFFFFFFFF && v + 8 <= v_end) z.packed_size = le(v, 8), v += 8;
        if (z.header_offset == 0xFFFFFFFF && v + 8 <= v_end) z.header_offset = le(v, 8), v += 8;
      }
      x += 4 + len;
    }
    p += 46 + name_len + extra_len + comment_len;
    if (z.method != 0 && z.method != 8)
      fail("damaged zip directory: record '" + z.name + "' has compression method " + std::to_string(z.method) +
           " (expected stored or deflated)");
    if (z.method == 0 && z.packed_size != z.size) fail("record '" + z.name + "': damaged sizes in the zip directory");
    // Deflate cannot expand data more than ~1032×: a larger claim is a damaged directory, and
    // would otherwise be allocated before inflating (found by fuzzing: 27 GB).
    if (z.method == 8 && z.size > z.packed_size * 1100 + 4096)
      fail("record '" + z.name + "': damaged sizes in the zip directory");
    entries_.push_back(std::move(z));
  }
}

const ZipEntry* ZipReader::find(const std::string& suffix) const {
  for (const auto& e : entries_)
    if (e.name == suffix ||
        (e.name.size() > suffix.size() && e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         e.name[e.name.size() - suffix.size() - 1] == '/'))
      return &e;
  return nullptr;
}

// Where the record's bytes begin: after its local header, which must agree it is one.
uint64_t ZipReader::data_start(const ZipEntry& e) {
  const auto lh = read_at(e.header_offset, 30, "a record header");
  if (le(lh.data(), 4) != 0x04034b50) fail("record '" + e.name + "': damaged record header");
  const uint64_t name_len = le(lh.data() + 26, 2);
  const uint64_t at = e.header_offset + 30 + name_len + le(lh.data() + 28, 2);
  if (at > size_ || e.packed_size > size_ - at) fail("truncated (record '" + e.name + "' beyond the end of the file)");
  // The directory (at the end of the file) names each record again: a damaged name there would
  // send a reader to a record of another type, with a message about types, not damage.
  const auto local = read_at(e.header_offset + 30, name_len, "a record name");
  if (std::string(local.begin(), local.end()) != e.name)
    fail("damaged zip directory: record '" + e.name + "' is named '" + std::string(local.begin(), local.end()) +
         "' in its own header (the file is damaged; use another copy or rerun)");
  return at;
}

std::vector<unsigned char> ZipReader::read(const ZipEntry& e, uint64_t limit) {
  if (e.size > limit) fail("record '" + e.name + "' is " + std::to_string(e.size) + " bytes, more than expected");
  const uint64_t at = data_start(e);
  if (e.method == 0) {
    auto bytes = read_at(at, e.packed_size, "a record");
    uLong sum = crc32(0L, Z_NULL, 0);
    for (uint64_t off = 0; off < bytes.size();) {  // zlib's length is 32-bit
      const uint64_t n = std::min<uint64_t>(bytes.size() - off, 1u << 30);
      sum = crc32(sum, bytes.data() + off, static_cast<uInt>(n));
      off += n;
    }
    if (sum != e.crc) fail("record '" + e.name + "' is corrupt (CRC-32 mismatch: the file was damaged after it was written)");
    return bytes;
  }
  if (e.packed_size > (uint64_t{1} << 32) || e.size >= (uint64_t{1} << 32))
    fail("record '" + e.name + "': deflated record too large");
  const auto packed = read_at(at, e.packed_size, "a record");
  std::vector<unsigned char> plain(e.size + 1);
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail("zlib unavailable");
  z.next_in = const_cast<unsigned char*>(packed.data()), z.avail_in = static_cast<uInt>(packed.size());
  z.next_out = plain.data(), z.avail_out = static_cast<uInt>(plain.size());
  const int rc = inflate(&z, Z_FINISH);
  const uint64_t got = plain.size() - z.avail_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || got != e.size || crc32(crc32(0L, Z_NULL, 0), plain.data(), static_cast<uInt>(got)) != e.crc)
    fail("record '" + e.name + "' is corrupt (its compressed data does not match its size and CRC-32)");
  plain.resize(got);
  return plain;
}

void ZipReader::verify(const ZipEntry& e) {
  if (e.method == 8) {
    read(e);
    return;
  }
  uint64_t at = data_start(e);
  uLong sum = crc32(0L, Z_NULL, 0);
  for (uint64_t left = e.packed_size; left > 0;) {
    const uint64_t n = std::min<uint64_t>(left, 1 << 22);
    const auto chunk = read_at(at, n, "a record");
    sum = crc32(sum, chunk.data(), static_cast<uInt>(n));
    at += n, left -= n;
  }
  if (sum != e.crc) fail("record '" + e.name + "' is corrupt (CRC-32 mismatch: the file was damaged after it was written)");
}

}  // namespace kdprune::io
