// A sweep's students trained together (train::fit_group: one batch and one teacher forward per
// step, shared) against the same students trained one after another (train::fit), on synthetic
// 3×32×32 data. Prints summed images/s (student-images per second) for each N and the ratio; the
// first epoch of every run is not counted (allocator, kernel selection).
//
//   build/bench/students_together [--student resnet20] [--teacher resnet20] [--counts 1,2,5]
//       [--images N] [--batch 64] [--epochs 2] [--device cpu|cuda] [--threads T] [--amp off|bf16] [--channels-last]
//       [--cuda-graph off|on] [--no-alone]
// On a GPU with --cuda-graph on, each student alone is one CUDA graph and a group is one graph with a
// stream per student. --no-alone times only the groups (the alone column prints 0).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <numeric>

#include "bench_data.h"
#include "kdprune/losses/distill_objective.h"
#include "kdprune/system/environment.h"
#include "kdprune/train/trainer.h"

using namespace kdprune;

int main(int argc, char** argv) {
  CLI::App app{"N students together vs N alone"};
  int64_t images = 1024, batch = 64, epochs = 2, threads = 0, classes = 100;
  std::string student = "resnet20", teacher_arch = "resnet20", counts_arg = "1,2,5", device_arg = "cpu", amp = "off";
  app.add_option("--student", student);
  app.add_option("--teacher", teacher_arch);
  app.add_option("--counts", counts_arg, "numbers of students (comma-separated)");
  app.add_option("--images", images);
  app.add_option("--batch", batch);
  app.add_option("--epochs", epochs, "epochs per run; all but the first are timed");
  app.add_option("--device", device_arg);
  app.add_option("--threads", threads);
  app.add_option("--amp", amp);
  bool channels_last = false, no_alone = false;
  std::string graph = "off";
  app.add_flag("--channels-last", channels_last);
  app.add_option("--cuda-graph", graph, "train.cuda_graph for every run")->check(CLI::IsMember({"off", "on", "auto"}));
  app.add_flag("--no-alone", no_alone, "skip the students-alone runs");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  system::configure_runtime(threads, 0);
  const torch::Device device(system::resolve_device(device_arg));
  const auto inputs = bench::synthetic_cifar(images, classes, device);
  const auto& data = inputs.data;
  const auto& idx = inputs.all;
  const auto teacher = bench::frozen_teacher(teacher_arch, classes, device);
  TrainSection t;
  t.epochs = epochs, t.batch_size = batch, t.lr = 0.05, t.schedule = "constant", t.checkpoint_every = 0;
  t.eval_every = epochs, t.amp = amp, t.channels_last = channels_last ? "true" : "false", t.cuda_graph = graph;
  KdSection kd;
  // Seconds of the timed epochs of one run: images / (images/s) per epoch after the first.
  auto timed_seconds = [&](const train::TrainResult& r) {
    double s = 0;
    for (size_t e = 1; e < r.epoch_images_per_second.size(); ++e) s += static_cast<double>(images) / r.epoch_images_per_second[e];
    return s;
  };
  const auto env = system::environment();
  std::printf("students together vs alone: %s <- %s, batch %lld, %lld images, device %s, LibTorch %s, %lld threads, amp %s%s%s\n",
              student.c_str(), teacher_arch.c_str(), static_cast<long long>(batch), static_cast<long long>(images),
              device.str().c_str(), env.torch_version.c_str(), static_cast<long long>(env.cpu_threads), amp.c_str(),
              channels_last ? ", channels-last" : "", graph == "off" ? "" : (", cuda graph " + graph).c_str());
  std::printf("%4s %22s %22s %8s\n", "N", "alone (sum img/s)", "together (sum img/s)", "ratio");
  std::stringstream ss(counts_arg);
  for (std::string item; std::getline(ss, item, ',');) {
    const int64_t n = std::stoll(item);
    std::vector<double> alphas;
    for (int64_t i = 0; i < n; ++i) alphas.push_back(0.5 + 0.4 * static_cast<double>(i) / std::max<int64_t>(1, n - 1));
    // Alone: one after another.
    double alone_s = 0;
    for (double a : alphas) {
      if (no_alone) break;
      torch::manual_seed(3);
      auto m = models::create_model(student, {3, classes, 32});
      const auto o = losses::distill_objective(teacher, m, kd, a, amp, {3, 32, 32});
      alone_s += timed_seconds(train::fit({.model = *m, .data = data, .indices = idx, .train = t, .loss = o.loss,
                                           .show_progress = false, .loss_capturable = o.capturable}));
    }
    // Together.
    auto cache = std::make_shared<losses::TeacherCache>();
    std::vector<models::Model> ms;
    std::vector<losses::Objective> os;
    std::vector<train::TrainInputs> runs;
    for (double a : alphas) {
      torch::manual_seed(3);
      ms.push_back(models::create_model(student, {3, classes, 32}));
      os.push_back(losses::distill_objective(teacher, ms.back(), kd, a, amp, {3, 32, 32}, {}, cache));
    }
    for (size_t i = 0; i < alphas.size(); ++i)
      runs.push_back({.model = *ms[i], .data = data, .indices = idx, .train = t, .loss = os[i].loss, .prelude = os[i].prelude,
                      .show_progress = false,
                      .loss_capturable = os[i].capturable});
    const double together_s = timed_seconds(train::fit_group(runs).front());
    const double work = static_cast<double>(n * images * (epochs - 1));
    std::printf("%4lld %22.1f %22.1f %7.2fx\n", static_cast<long long>(n), no_alone ? 0.0 : work / alone_s, work / together_s,
                no_alone ? 0.0 : alone_s / together_s);
    std::fflush(stdout);
  }
  return 0;
}
