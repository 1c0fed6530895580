#pragma once
// A zip reader for the archives LibTorch and torch.save write (stored or deflated records, zip64),
// with every size checked against the file before anything is allocated, and CRC-32 checked on
// every read: LibTorch's own reader checks neither.
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace kdprune::io {

// A little-endian unsigned integer of `bytes` bytes (zip fields, pickle lengths).
uint64_t read_le(const unsigned char* p, int bytes);

struct ZipEntry {
  std::string name;
  uint64_t method = 0;  // 0 stored, 8 deflated
  uint64_t crc = 0;
  uint64_t packed_size = 0;
  uint64_t size = 0;
  uint64_t header_offset = 0;  // local header
};

class ZipReader {
 public:
  // Reads the central directory. Throws kdprune::Error "<what>: <why>" if it is not a zip file,
  // is truncated, or the directory is damaged.
  ZipReader(const std::string& path, const std::string& what);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  // The entry whose name is `suffix` or ends in "/<suffix>" (torch.save prefixes records with an
  // archive folder of any name); nullptr if none.
  const ZipEntry* find(const std::string& suffix) const;

  // The record's bytes (inflated), checked against its size and CRC-32; at most `limit` bytes.
  std::vector<unsigned char> read(const ZipEntry& e, uint64_t limit = uint64_t{1} << 34);
  // Checks the record's CRC-32 without keeping it (stored records are read in chunks).
  void verify(const ZipEntry& e);

  [[noreturn]] void fail(const std::string& why) const;
  uint64_t file_size() const { return size_; }

 private:
  std::vector<unsigned char> read_at(uint64_t offset, uint64_t n, const char* part);
  uint64_t data_start(const ZipEntry& e);

  std::ifstream in_;
  std::string what_;
  uint64_t size_ = 0;
  std::vector<ZipEntry> entries_;
};

}  // namespace kdprune::io
