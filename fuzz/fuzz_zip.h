#pragma once
// Zip CRC fix-up for the LibTorch archive harnesses. kdprune checks every stored record's CRC-32
// before LibTorch parses the archive (src/io/zip_check.cpp), so almost every mutation of a
// model.pt would stop there. fix_zip_crcs() rewrites the CRC-32 of every stored record (central
// directory and local header) to match its data, so that mutations reach LibTorch's reader and
// kdprune's checks behind it. It is lenient: whatever it cannot parse it leaves alone.
#include <zlib.h>

#include <cstdint>
#include <string>

namespace kdprune_fuzz {

inline uint64_t zle(const std::string& b, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<size_t>(i)]);
  return v;
}
inline void zput32(std::string& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Returns true when it changed anything.
inline bool fix_zip_crcs(std::string& b) {
  if (b.size() < 22) return false;
  const size_t tail = std::min<size_t>(b.size(), 22 + 65535);
  size_t eocd = std::string::npos;
  for (size_t i = b.size() - 22 + 1; i-- > b.size() - tail;)
    if (zle(b, i, 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == std::string::npos) return false;
  const uint64_t entries = zle(b, eocd + 10, 2), dir_size = zle(b, eocd + 12, 4), dir_offset = zle(b, eocd + 16, 4);
  if (dir_offset > b.size() || dir_size > b.size() - dir_offset) return false;
  bool changed = false;
  for (uint64_t k = 0, p = dir_offset; k < entries; ++k) {
    if (p + 46 > dir_offset + dir_size || zle(b, p, 4) != 0x02014b50) break;
    const uint64_t method = zle(b, p + 10, 2), crc = zle(b, p + 16, 4), csize = zle(b, p + 20, 4),
                   name_len = zle(b, p + 28, 2), extra_len = zle(b, p + 30, 2), comment_len = zle(b, p + 32, 2),
                   local = zle(b, p + 42, 4);
    const size_t entry = p;
    p += 46 + name_len + extra_len + comment_len;
    if (method != 0 || local + 30 > b.size() || zle(b, local, 4) != 0x04034b50) continue;
    const uint64_t at = local + 30 + zle(b, local + 26, 2) + zle(b, local + 28, 2);
    if (at > b.size() || csize > b.size() - at) continue;
    const uint32_t sum = static_cast<uint32_t>(
        crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(b.data() + at), static_cast<uInt>(csize)));
    if (sum != crc) {
      zput32(b, entry + 16, sum);
      zput32(b, local + 14, sum);
      changed = true;
    }
  }
  return changed;
}

}  // namespace kdprune_fuzz
