// Training throughput of kdprune's trainer (the real fit() loop: on-device batches, batched
// augmentation, SGD) on synthetic 3×32×32 data. Prints a table of images/s: warm-up excluded,
// median of repeats. Side by side: fp32 and bf16 autocast + channels-last.
//
//   build/bench/train_throughput [--images N] [--repeats R] [--models resnet20,resnet32,resnet56]
//                                [--batches 64,128] [--device cpu|cuda] [--threads T]
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <numeric>

#include "kdprune/data/dataset_registry.h"
#include "kdprune/system/environment.h"
#include "kdprune/train/trainer.h"

using namespace kdprune;

namespace {
std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

double one_epoch(const std::string& arch, const data::TensorDataset& data, const std::vector<int64_t>& idx,
                 TrainSection t) {
  torch::manual_seed(0);
  auto m = models::create_model(arch, {3, data.info.classes, 32});
  t.epochs = 1;
  t.eval_every = 1;
  // fit() evaluates after the last epoch; keep the test split tiny so timing is training.
  return train::fit({.model = *m, .data = data, .indices = idx, .train = t, .show_progress = false}).images_per_second;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kdprune training throughput benchmark"};
  int64_t images = 1024, repeats = 3, threads = 0;
  std::string models_arg = "resnet20,resnet32,resnet56", batches_arg = "64,128", device_arg = "auto";
  app.add_option("--images", images, "images per timed epoch");
  app.add_option("--repeats", repeats, "timed repeats (median reported)");
  app.add_option("--models", models_arg);
  app.add_option("--batches", batches_arg);
  app.add_option("--device", device_arg);
  app.add_option("--threads", threads);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  system::configure_runtime(threads, 0);
  const torch::Device device(system::resolve_device(device_arg));

  DataSection d;
  d.name = "synthetic";
  d.synthetic = {images, 8, 3, 32, 32, 100, 0.5};
  auto data = data::to_tensors(data::load_dataset(d, 0), device);
  std::vector<int64_t> idx(static_cast<size_t>(images));
  std::iota(idx.begin(), idx.end(), 0);

  struct Mode {
    const char* name;
    const char* amp;
    bool channels_last;
  };
  std::vector<Mode> modes = {{"fp32", "off", false}, {"bf16+CL", "bf16", true}};
  if (device.is_cuda()) modes.push_back({"fp16+CL", "fp16", true});

  const auto env = system::environment();
  std::printf("kdprune train throughput: device %s, LibTorch %s, %lld CPU threads, %lld images/epoch, median of %lld\n",
              device.str().c_str(), env.torch_version.c_str(), static_cast<long long>(env.cpu_threads),
              static_cast<long long>(images), static_cast<long long>(repeats));
  std::printf("%-10s %6s", "model", "batch");
  for (const auto& m : modes) std::printf(" %14s", (std::string(m.name) + " img/s").c_str());
  std::printf(" %10s\n", "ratio");
  for (const auto& arch : split(models_arg))
    for (const auto& b : split(batches_arg)) {
      std::printf("%-10s %6s", arch.c_str(), b.c_str());
      std::vector<double> medians;
      for (const auto& mode : modes) {
        TrainSection t;
        t.batch_size = std::stoll(b);
        t.lr = 0.05;
        t.schedule = "constant";
        t.amp = mode.amp;
        t.channels_last = mode.channels_last;
        one_epoch(arch, data, idx, t);  // warm-up (allocator, kernel selection, cuDNN benchmark)
        std::vector<double> runs;
        for (int64_t r = 0; r < repeats; ++r) runs.push_back(one_epoch(arch, data, idx, t));
        std::sort(runs.begin(), runs.end());
        medians.push_back(runs[runs.size() / 2]);
        std::printf(" %14.1f", medians.back());
        std::fflush(stdout);
      }
      std::printf(" %9.2fx\n", medians[1] / medians[0]);
    }
  return 0;
}
