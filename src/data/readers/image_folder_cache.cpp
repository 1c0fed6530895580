// The decoded imagefolder set on disk: "KDPIFC01", a little-endian uint64 header length, a JSON
// header (fingerprint; per split: n, files, labels, the failures' messages), then the train and
// val images (n×3×size×size bytes each). The fingerprint (FNV-1a 64 over the size and every
// listed file's path, byte size and modification time) decides whether it is still valid; a
// stale, foreign or damaged cache is ignored (and rewritten), never trusted.
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "image_io.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/util/error.h"

namespace kdprune::data {
namespace {

namespace fs = std::filesystem;
constexpr char kMagic[8] = {'K', 'D', 'P', 'I', 'F', 'C', '0', '1'};

struct Fnv {
  uint64_t h = 1469598103934665603ULL;
  void add(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ULL;
  }
  void add(const std::string& s) { add(s.data(), s.size() + 1); }  // with its terminator
  void add(int64_t v) { add(&v, sizeof v); }
};

nlohmann::json split_header(const DecodedSplit& d) {
  return {{"n", d.images.n}, {"files", d.files}, {"labels", d.images.labels}, {"errors", d.errors}};
}

DecodedSplit split_from(const nlohmann::json& j, int64_t size) {
  DecodedSplit d;
  d.images.n = j.at("n").get<int64_t>();
  d.images.c = 3, d.images.h = size, d.images.w = size;
  d.files = j.at("files").get<std::vector<std::string>>();
  d.images.labels = j.at("labels").get<std::vector<int64_t>>();
  d.errors = j.at("errors").get<std::vector<std::string>>();
  if (d.images.n < 0 || static_cast<size_t>(d.images.n) != d.files.size() || d.files.size() != d.images.labels.size())
    throw Error("inconsistent sizes");
  return d;
}

}  // namespace

std::string folder_fingerprint(const std::vector<std::string>& train_files, const std::vector<std::string>& val_files,
                               int64_t size) {
  Fnv f;
  f.add(size);
  f.add(std::string("pillow13-pass-order"));  // caches of the horizontal-first resize are decoded again
  for (const auto* list : {&train_files, &val_files}) {
    f.add(static_cast<int64_t>(list->size()));
    for (const auto& p : *list) {
      std::error_code ec;
      f.add(p);
      f.add(static_cast<int64_t>(fs::file_size(p, ec)));
      f.add(static_cast<int64_t>(fs::last_write_time(p, ec).time_since_epoch().count()));
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(f.h));
  return hex;
}

std::optional<std::pair<DecodedSplit, DecodedSplit>> read_folder_cache(const std::string& path,
                                                                        const std::string& fingerprint) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  try {
    std::error_code ec;
    const uint64_t file_size = fs::file_size(path, ec);
    char magic[8];
    uint64_t header_len = 0;
    if (ec || !in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0 ||
        !in.read(reinterpret_cast<char*>(&header_len), 8) || header_len > file_size - 16)
      return std::nullopt;
    std::string text(header_len, '\0');
    if (!in.read(text.data(), static_cast<std::streamsize>(header_len))) return std::nullopt;
    const auto h = nlohmann::json::parse(text);
    if (h.at("fingerprint").get<std::string>() != fingerprint) return std::nullopt;
    const int64_t size = h.at("size").get<int64_t>();
    if (size < 1 || size > 4096) return std::nullopt;
    std::pair<DecodedSplit, DecodedSplit> out{split_from(h.at("train"), size), split_from(h.at("val"), size)};
    // The pixel bytes must be exactly what is left of the file, checked before allocating them.
    const uint64_t image_bytes = 3 * static_cast<uint64_t>(size * size);
    const uint64_t left = file_size - 16 - header_len;
    const auto n_train = static_cast<uint64_t>(out.first.images.n), n_val = static_cast<uint64_t>(out.second.images.n);
    if (n_train > left / image_bytes || n_val > left / image_bytes || (n_train + n_val) * image_bytes != left)
      return std::nullopt;
    for (auto* d : {&out.first, &out.second}) {
      d->images.images.resize(static_cast<size_t>(d->images.n * 3 * size * size));
      if (!in.read(reinterpret_cast<char*>(d->images.images.data()), static_cast<std::streamsize>(d->images.images.size())))
        return std::nullopt;
    }
    if (in.peek() != std::char_traits<char>::eof()) return std::nullopt;  // longer than its header says
    return out;
  } catch (const std::exception&) {  // a damaged header: decode again
    return std::nullopt;
  }
}

void write_folder_cache(const std::string& path, const std::string& fingerprint, const DecodedSplit& train,
                        const DecodedSplit& val) {
  const nlohmann::json h = {
      {"fingerprint", fingerprint}, {"size", train.images.h}, {"train", split_header(train)}, {"val", split_header(val)}};
  const std::string text = h.dump();
  io::write_via_temp(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    const uint64_t len = text.size();
    out.write(kMagic, 8);
    out.write(reinterpret_cast<const char*>(&len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto* d : {&train, &val})
      out.write(reinterpret_cast<const char*>(d->images.images.data()), static_cast<std::streamsize>(d->images.images.size()));
    out.flush();
    if (!out) throw Error("'" + tmp + "': write failed");
  });
}

}  // namespace kdprune::data
