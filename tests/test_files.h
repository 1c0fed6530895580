#pragma once
// Helpers for tests that write small files in the real formats.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kdprune::test {

// A fresh empty directory under the system temp dir, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_bytes(const std::string& path, const std::string& bytes);
void write_gzip(const std::string& path, const std::string& bytes);
std::string read_bytes(const std::string& path);
// A CSV file's rows split at commas (no quoting: the files kdprune writes for tests).
std::vector<std::vector<std::string>> csv_rows(const std::string& path);
// A run's metrics.csv without its timing columns (images_per_s, seconds), which differ run to run.
std::string metrics_without_timing(const std::string& path);

// The message of the kdprune::Error that f throws ("" when it throws none).
std::string error_of(const std::function<void()>& f);

// A "billion laughs" YAML: ten levels of ten aliases each, 10^10 values from about 1 kB.
std::string billion_laughs_yaml();

// IDX file bytes: magic 00 00 08 ndim, big-endian dims, then data.
std::string idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data);

// An 8-bit RGB PNG of width×height from H×W×3 bytes (no filter, one zlib IDAT): exact pixels.
std::string png_bytes(uint32_t width, uint32_t height, const std::vector<uint8_t>& rgb);

}  // namespace kdprune::test
