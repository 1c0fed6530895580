// Seeded synthetic images: each class has a random prototype image; a sample is its class
// prototype plus uniform noise. Learnable, any shape, for tests and benchmarks.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include <unistd.h>

#include "kdprune/util/error.h"

#include "readers.h"

namespace kdprune::data {

ImageSplit make_synthetic(const SyntheticSection& s, int64_t seed, bool test) {
  const int64_t pixels = s.channels * s.height * s.width;
  std::mt19937_64 proto_rng(static_cast<uint64_t>(seed) * 2654435761ULL + 17);
  std::uniform_real_distribution<float> u01(0.f, 1.f);
  std::vector<float> protos(static_cast<size_t>(s.classes * pixels));
  for (auto& p : protos) p = u01(proto_rng);  // shared by train and test
  std::mt19937_64 rng(static_cast<uint64_t>(seed) * 2654435761ULL + (test ? 2 : 1));
  ImageSplit out;
  out.n = test ? s.test_size : s.train_size;
  out.c = s.channels;
  out.h = s.height;
  out.w = s.width;
  out.images.resize(static_cast<size_t>(out.n * pixels));
  out.labels.resize(static_cast<size_t>(out.n));
  const float noise = static_cast<float>(s.noise);
  for (int64_t i = 0; i < out.n; ++i) {
    const int64_t y = i % s.classes;  // balanced classes
    out.labels[static_cast<size_t>(i)] = y;
    const float* p = protos.data() + y * pixels;
    uint8_t* dst = out.images.data() + i * pixels;
    for (int64_t k = 0; k < pixels; ++k) {
      const float v = (p[k] + noise * (u01(rng) - 0.5f) * 2.f) / (1.f + noise);
      dst[k] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.f, 1.f) * 255.f));
    }
  }
  return out;
}

namespace {
// Sizes whose product would overflow, or exceed this machine's memory, are refused up front
// (a clear message instead of std::bad_alloc).
void check_size(const SyntheticSection& s) {
  const double pixels = static_cast<double>(s.channels) * static_cast<double>(s.height) * static_cast<double>(s.width);
  const double bytes = pixels * (static_cast<double>(s.train_size) + static_cast<double>(s.test_size) + 4.0 * s.classes);
  const double memory = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  if (bytes > memory || pixels > 1e9) {
    char gb[96];
    std::snprintf(gb, sizeof gb, "%.3g GB, more than this machine's %.3g GB", bytes / 1e9, memory / 1e9);
    throw Error("data.synthetic: " + std::to_string(s.train_size) + " + " + std::to_string(s.test_size) + " images of " +
                std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" + std::to_string(s.width) + " need " + gb);
  }
}
}  // namespace

RawDataset load_synthetic(const DataSection& data, int64_t run_seed) {
  const auto& s = data.synthetic;
  check_size(s);
  const int64_t seed = s.seed >= 0 ? s.seed : run_seed;
  RawDataset ds;
  ds.train = make_synthetic(s, seed, false);
  ds.test = make_synthetic(s, seed, true);
  ds.info.name = "synthetic";
  ds.info.classes = s.classes;
  ds.info.mean.assign(static_cast<size_t>(s.channels), 0.5f);
  ds.info.std.assign(static_cast<size_t>(s.channels), 0.25f);
  ds.info.flip = true;
  for (int64_t c = 0; c < s.classes; ++c) ds.info.class_names.push_back("class" + std::to_string(c));
  ds.source = "synthetic(seed=" + std::to_string(seed) + ")";
  return ds;
}

}  // namespace kdprune::data
