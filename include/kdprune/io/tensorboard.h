#pragma once
// TensorBoard event files (`tensorboard --logdir runs` shows every run): TFRecord framing
// (length, masked CRC-32C of the length, the serialized Event, masked CRC-32C of it) around
// protobuf Events built with Debian's protobuf from proto/tensorboard_event.proto.
#include <cstdint>
#include <cstdio>
#include <string>

namespace kdprune::io {

// CRC-32C (Castagnoli), and TFRecord's masking of it.
uint32_t crc32c(const void* data, size_t n);
uint32_t masked_crc32c(const void* data, size_t n);

class EventWriter {
 public:
  // Creates <dir>/events.out.tfevents.<seconds>.<host>.<pid>.kdprune and writes its version record.
  explicit EventWriter(const std::string& dir);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  void scalar(const std::string& tag, double value, int64_t step);
  // A resumed run: TensorBoard drops the older files' points at steps >= `step`.
  void session_start(int64_t step);
  void flush();
  const std::string& path() const { return path_; }

 private:
  void record(const std::string& bytes);
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace kdprune::io
