// Decoding throughput of a streamed image folder (data.imagefolder.stream): every training image
// once, in batches, as training views (libjpeg-turbo decode + RandomResizedCrop(size) + flip,
// Pillow's resampling) on --threads threads. Prints images/s (the decode loop alone, after the
// listing). Used by bench/imagefolder_load.sh beside the PIL loop.
//   stream_load --root DIR --size 224 --threads 2 --batch 64
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <numeric>

#include "kdprune/data/dataset_registry.h"
#include "kdprune/data/image_stream.h"

int main(int argc, char** argv) {
  CLI::App app{"streamed imagefolder decoding throughput"};
  std::string root;
  int64_t size = 224, threads = 1, batch = 64;
  app.add_option("--root", root, "image folder (train/, val/)")->required();
  app.add_option("--size", size, "training crop size");
  app.add_option("--threads", threads, "decoding threads");
  app.add_option("--batch", batch, "images per batch");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);  // stdout carries the number alone
  kdprune::DataSection d;
  d.name = "imagefolder", d.root = root;
  d.imagefolder.stream = true, d.imagefolder.size = size, d.imagefolder.threads = threads;
  const auto ds = kdprune::data::load_dataset(d, 0);
  const auto& stream = *ds.train.stream;
  std::vector<int64_t> order(static_cast<size_t>(stream.size()));
  std::iota(order.begin(), order.end(), 0);
  std::vector<uint8_t> out(static_cast<size_t>(batch * 3 * size * size));
  const auto start = std::chrono::steady_clock::now();
  for (int64_t b = 0; b < stream.size(); b += batch) {
    const int64_t n = std::min(batch, stream.size() - b);
    stream.batch(order.data() + b, n, true, 0, 0, out.data());
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.1f\n", static_cast<double>(stream.size()) / s);
  return 0;
}
