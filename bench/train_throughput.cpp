// Training throughput of kdprune's trainer (the real fit() loop: on-device batches, batched
// augmentation, SGD; with --teacher, the KD step with a frozen teacher) on synthetic 3×32×32 data.
// Prints a table of images/s, one column per mode: the median over repeats of the median epoch
// after the first (the first epoch holds cuDNN's search and, with +graph, the capture).
//
//   build/bench/train_throughput [--images N] [--repeats R] [--epochs E] [--models resnet20,resnet32]
//       [--batches 64,128] [--device cpu|cuda] [--threads T] [--teacher resnet32]
//       [--modes fp32,bf16+CL,fp32+graph,bf16+CL+graph]
// A mode is fp32 | bf16 | fp16, then +CL (channels-last) and/or +graph (train.cuda_graph=on;
// without it, off).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <numeric>

#include "bench_data.h"
#include "kdprune/losses/distill_objective.h"
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

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Bench {
  const data::TensorDataset& data;
  std::vector<int64_t> idx;
  models::Model teacher;  // null: cross-entropy training

  double run(const std::string& arch, TrainSection t) const {
    torch::manual_seed(0);
    auto m = models::create_model(arch, {3, data.info.classes, 32});
    m->to(data.train.images.device());
    t.eval_every = t.epochs;  // fit() evaluates after the last epoch; the test split is tiny
    losses::Objective o;
    o.loss = train::cross_entropy_loss;
    if (teacher) {
      KdSection kd;
      // As kdprune distill: the teacher's forward is the step's prelude.
      o = losses::distill_objective(teacher, m, kd, 0.9, t.amp, {3, 32, 32}, {}, std::make_shared<losses::TeacherCache>());
    }
    const auto r = train::fit({.model = *m, .data = data, .indices = idx, .train = t, .loss = o.loss, .prelude = o.prelude,
                               .show_progress = false, .loss_capturable = o.capturable});
    auto ips = r.epoch_images_per_second;
    if (ips.size() > 1) ips.erase(ips.begin());
    return median(ips);
  }
};
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kdprune training throughput benchmark"};
  int64_t images = 1024, repeats = 3, threads = 0, epochs = 2, classes = 100;
  std::string models_arg = "resnet20,resnet32,resnet56", batches_arg = "64,128", device_arg = "auto", teacher_arg,
              modes_arg = "fp32,bf16+CL";
  app.add_option("--images", images, "images per epoch");
  app.add_option("--repeats", repeats, "timed repeats (median reported)");
  app.add_option("--epochs", epochs, "epochs per timed run (the first is not counted when there are more)");
  app.add_option("--models", models_arg);
  app.add_option("--batches", batches_arg);
  app.add_option("--device", device_arg);
  app.add_option("--threads", threads);
  app.add_option("--teacher", teacher_arg, "time the KD step with a frozen teacher of this architecture");
  app.add_option("--classes", classes);
  app.add_option("--modes", modes_arg, "comma-separated: fp32|bf16|fp16 [+CL] [+graph]");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  system::configure_runtime(threads, 0);
  const torch::Device device(system::resolve_device(device_arg));

  const auto inputs = bench::synthetic_cifar(images, classes, device);
  Bench bench{inputs.data, inputs.all, nullptr};
  if (!teacher_arg.empty()) bench.teacher = bench::frozen_teacher(teacher_arg, classes, device);
  const auto modes = split(modes_arg);

  const auto env = system::environment();
  std::printf("kdprune train throughput (%s): device %s, LibTorch %s, %lld CPU threads, %lld images/epoch, %lld epochs, median of %lld\n",
              teacher_arg.empty() ? "cross-entropy" : ("KD from " + teacher_arg).c_str(), device.str().c_str(),
              env.torch_version.c_str(), static_cast<long long>(env.cpu_threads), static_cast<long long>(images),
              static_cast<long long>(epochs), static_cast<long long>(repeats));
  std::printf("%-10s %6s", "model", "batch");
  for (const auto& m : modes) std::printf(" %16s", (m + " img/s").c_str());
  std::printf(" %10s\n", "last/first");
  for (const auto& arch : split(models_arg))
    for (const auto& b : split(batches_arg)) {
      std::printf("%-10s %6s", arch.c_str(), b.c_str());
      std::vector<double> medians;
      for (const auto& mode : modes) {
        TrainSection t;
        t.batch_size = std::stoll(b);
        t.lr = 0.05;
        t.schedule = "constant";
        t.epochs = epochs;
        t.checkpoint_every = 0;
        t.amp = mode.find("bf16") != std::string::npos ? "bf16" : mode.find("fp16") != std::string::npos ? "fp16" : "off";
        t.channels_last = mode.find("+CL") != std::string::npos ? "true" : "false";
        t.cuda_graph = mode.find("+graph") != std::string::npos ? "on" : "off";
        bench.run(arch, t);  // warm-up (allocator, kernel selection, cuDNN benchmark)
        std::vector<double> runs;
        for (int64_t r = 0; r < repeats; ++r) runs.push_back(bench.run(arch, t));
        medians.push_back(median(runs));
        std::printf(" %16.1f", medians.back());
        std::fflush(stdout);
      }
      std::printf(" %9.2fx\n", medians.back() / medians.front());
    }
  return 0;
}
