#include "kdprune/io/tensorboard.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "kdprune/util/error.h"
#include "proto/tensorboard_event.pb.h"

namespace kdprune::io {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // reflected Castagnoli
      t[i] = c;
    }
    return t;
  }();
  return table;
}

}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  const auto& t = crc_table();
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = t[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

EventWriter::EventWriter(const std::string& dir) {
  char host[256] = "host";
  gethostname(host, sizeof host - 1);
  path_ = dir + "/events.out.tfevents." + std::to_string(static_cast<int64_t>(now_seconds())) + "." + host + "." +
          std::to_string(getpid()) + ".kdprune";
  // A second writer in the same second and process gets a later name: TensorBoard reads the
  // files of a folder in name order, and a resumed run's file must come after the old one.
  for (int k = 1; std::filesystem::exists(path_); ++k)
    path_ = path_.substr(0, path_.rfind(".kdprune") + 8) + "." + std::to_string(k);
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) throw Error("TensorBoard event file '" + path_ + "': " + std::strerror(errno));
  tensorboard::Event e;
  e.set_wall_time(now_seconds());
  e.set_file_version("brain.Event:2");
  record(e.SerializeAsString());
  flush();
}

EventWriter::~EventWriter() {
  if (file_) std::fclose(file_);
}

void EventWriter::record(const std::string& bytes) {
  const uint64_t len = bytes.size();
  unsigned char header[12];
  for (int i = 0; i < 8; ++i) header[i] = static_cast<unsigned char>(len >> (8 * i));
  const uint32_t len_crc = masked_crc32c(header, 8);
  for (int i = 0; i < 4; ++i) header[8 + i] = static_cast<unsigned char>(len_crc >> (8 * i));
  const uint32_t data_crc = masked_crc32c(bytes.data(), bytes.size());
  unsigned char footer[4];
  for (int i = 0; i < 4; ++i) footer[i] = static_cast<unsigned char>(data_crc >> (8 * i));
  if (std::fwrite(header, 1, 12, file_) != 12 || std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size() ||
      std::fwrite(footer, 1, 4, file_) != 4)
    throw Error("TensorBoard event file '" + path_ + "': " + std::strerror(errno));
}

void EventWriter::scalar(const std::string& tag, double value, int64_t step) {
  tensorboard::Event e;
  e.set_wall_time(now_seconds());
  e.set_step(step);
  auto* v = e.mutable_summary()->add_value();
  v->set_tag(tag);
  v->set_simple_value(static_cast<float>(value));
  record(e.SerializeAsString());
}

void EventWriter::session_start(int64_t step) {
  tensorboard::Event e;
  e.set_wall_time(now_seconds());
  e.set_step(step);
  e.mutable_session_log()->set_status(tensorboard::SessionLog::START);
  record(e.SerializeAsString());
}

void EventWriter::flush() {
  if (std::fflush(file_) != 0) throw Error("TensorBoard event file '" + path_ + "': " + std::strerror(errno));
}

}  // namespace kdprune::io
