#include "kdprune/data/image_stream.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "image_io.h"
#include "kdprune/util/error.h"

namespace kdprune::data {
namespace {

// splitmix64: a sample's draws come from (seed, epoch, index) alone.
struct SampleRng {
  uint64_t state;
  SampleRng(uint64_t seed, int64_t epoch, int64_t index)
      : state(seed * 0x9E3779B97F4A7C15ULL ^ (static_cast<uint64_t>(epoch) + 1) * 0xBF58476D1CE4E5B9ULL ^
              (static_cast<uint64_t>(index) + 1) * 0x94D049BB133111EBULL) {}
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

}  // namespace

ImageStream::ImageStream(std::vector<std::string> files, const StreamSettings& settings)
    : files_(std::move(files)), settings_(settings) {
  if (settings_.size < 1 || settings_.eval_resize < settings_.size)
    throw Error("imagefolder stream: expected 1 <= size <= eval_resize, got size " + std::to_string(settings_.size) +
                " and eval_resize " + std::to_string(settings_.eval_resize));
}

int64_t ImageStream::failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(bad_.size());
}

std::vector<uint8_t> ImageStream::view(int64_t i, bool augment, uint64_t seed, int64_t epoch) const {
  if (!augment) return resize_centre_crop(decode_image(file(i)), settings_.eval_resize, settings_.size);
  // The box is drawn from the image's size (in the file's header), then only its part is decoded.
  SampleRng rng(seed, epoch, i);
  auto region = decode_image_region(file(i), [&](int64_t h, int64_t w) {
    return random_resized_crop_box(h, w, [&] { return rng.uniform(); });
  });
  return resized_crop(std::move(region.image), settings_.size, rng.uniform() < 0.5);
}

void ImageStream::count_failure(int64_t i, const std::string& why) const {
  size_t bad_count = 0;
  bool first_time = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    first_time = bad_.insert(i).second;
    bad_count = bad_.size();
  }
  if (static_cast<int64_t>(bad_count) > settings_.max_bad)
    throw Error("imagefolder: " + std::to_string(bad_count) + " images failed to decode so far (data.imagefolder.max_bad = " +
                std::to_string(settings_.max_bad) + "); the latest: " + why);
  if (first_time) spdlog::warn("imagefolder: skipped {} (its place in the batch taken by another sample, with its label)", why);
}

std::vector<int64_t> ImageStream::batch(const int64_t* indices, int64_t n, bool augment, uint64_t seed, int64_t epoch,
                                        uint8_t* out) const {
  const int64_t bytes = 3 * settings_.size * settings_.size;
  for (int64_t k = 0; k < n; ++k)
    if (indices[k] < 0 || indices[k] >= size())
      throw Error("imagefolder stream: sample " + std::to_string(indices[k]) + " out of range (" + std::to_string(size()) +
                  " files)");
  std::vector<char> ok(static_cast<size_t>(n), 0);
  std::vector<std::string> errors(static_cast<size_t>(n));
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t k = next++; k < n; k = next++) {
      try {
        const auto chw = view(indices[k], augment, seed, epoch);
        std::memcpy(out + k * bytes, chw.data(), static_cast<size_t>(bytes));
        ok[static_cast<size_t>(k)] = 1;
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(k)] = e.what();
      }
    }
  };
  const int64_t hw = std::max<int64_t>(1, std::min<int64_t>(std::thread::hardware_concurrency(), 16));
  const int64_t threads = std::min(n, settings_.threads > 0 ? settings_.threads : hw);
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();

  std::vector<int64_t> held(indices, indices + n);
  int64_t good = std::find(ok.begin(), ok.end(), 1) - ok.begin();
  for (int64_t k = 0; k < n; ++k) {
    if (ok[static_cast<size_t>(k)]) continue;
    count_failure(indices[k], errors[static_cast<size_t>(k)]);
    if (good == n) {
      // No sample of the batch decoded (a batch of one, say): the next file after it that does.
      int64_t tries = 0;
      for (int64_t j = (indices[k] + 1) % size(); good == n; j = (j + 1) % size()) {
        if (++tries > size()) throw Error("imagefolder: no file of the split decodes; the first failure: " + errors[static_cast<size_t>(k)]);
        try {
          const auto chw = view(j, augment, seed, epoch);
          std::memcpy(out + k * bytes, chw.data(), static_cast<size_t>(bytes));
          held[static_cast<size_t>(k)] = j;
          good = k;
        } catch (const std::exception& e) {
          count_failure(j, e.what());  // throws once past max_bad: the search ends
        }
      }
      continue;
    }
    std::memcpy(out + k * bytes, out + good * bytes, static_cast<size_t>(bytes));
    held[static_cast<size_t>(k)] = held[static_cast<size_t>(good)];
  }
  return held;
}

}  // namespace kdprune::data
