// The cost of each distillation term per training step: the real trainer (train::fit) on synthetic
// 3×32×32 data, 100 classes, a student distilled from a teacher with vanilla KD alone and with
// each registered feature term added (kd.weighting repdistiller, α = β = 1), next to plain CE.
// Prints images/s and the time per step relative to vanilla KD; warm-up epoch excluded, median of
// repeats. Some terms are not cheap (VID's regressors, NST's Gram-like kernels).
//
//   build/bench/kd_terms [--student resnet8] [--teacher resnet32] [--batch 64] [--images N]
//                        [--repeats R] [--terms kd,at,vid] [--device cpu|cuda] [--threads T]
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "bench_data.h"
#include "kdprune/losses/distill_objective.h"
#include "kdprune/system/environment.h"
#include "kdprune/train/trainer.h"

using namespace kdprune;

int main(int argc, char** argv) {
  CLI::App app{"kdprune: cost of each KD term per step"};
  int64_t images = 1024, repeats = 3, threads = 0, batch = 64;
  std::string student = "resnet8", teacher_arch = "resnet32", terms_arg, device_arg = "auto";
  app.add_option("--student", student);
  app.add_option("--teacher", teacher_arch);
  app.add_option("--batch", batch);
  app.add_option("--images", images, "images per timed epoch");
  app.add_option("--repeats", repeats, "timed repeats (median reported)");
  app.add_option("--terms", terms_arg, "comma-separated terms (default: ce, kd and every registered one)");
  app.add_option("--device", device_arg);
  app.add_option("--threads", threads);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  system::configure_runtime(threads, 0);
  const torch::Device device(system::resolve_device(device_arg));

  const auto inputs = bench::synthetic_cifar(images, 100, device);
  const auto& data = inputs.data;
  const auto& idx = inputs.all;
  const auto teacher = bench::frozen_teacher(teacher_arch, 100, device);

  std::vector<std::string> terms;
  if (terms_arg.empty()) {
    terms = {"ce"};
    for (const auto& e : losses::kd_loss_registry()) terms.push_back(e.name);
  } else {
    std::stringstream ss(terms_arg);
    for (std::string t; std::getline(ss, t, ',');) terms.push_back(t);
  }
  TrainSection t;
  t.epochs = 1, t.batch_size = batch, t.eval_every = 1, t.checkpoint_every = 0;
  t.amp = "off", t.channels_last = "false";  // fp32, as bench/README.md's table was measured
  std::printf("%s student, %s teacher, batch %lld, %lld images, %s\n\n", student.c_str(), teacher_arch.c_str(),
              static_cast<long long>(batch), static_cast<long long>(images), device.str().c_str());
  std::printf("| term | images/s | ms/step | vs KD | trained module params |\n|---|---|---|---|---|\n");
  double kd_ms = 0;
  for (const auto& term : terms) {
    std::vector<double> ips;
    int64_t module_params = 0;
    std::string failed;
    for (int64_t r = 0; r <= repeats && failed.empty(); ++r) {  // r = 0: warm-up
      torch::manual_seed(0);
      auto s = models::create_model(student, {3, 100, 32});
      s->to(device);
      KdSection k;
      double alpha = 0.0;
      if (term == "kd") {
        alpha = 1.0;
      } else if (term != "ce") {
        k.weighting = "repdistiller", k.extra = term, k.beta = 1.0, alpha = 1.0;
      }
      const auto obj = losses::distill_objective(term == "ce" ? nullptr : teacher, s, k, alpha, "off", {3, 32, 32},
                                                 data.train.labels.index_select(0, torch::tensor(idx).to(device)));
      module_params = obj.trainable ? models::parameter_count(*obj.trainable) : 0;
      try {
        const auto res = train::fit({.model = *s, .data = data, .indices = idx, .train = t, .loss = obj.loss,
                                     .loss_modules = obj.trainable, .show_progress = false});
        if (r > 0) ips.push_back(res.images_per_second);
      } catch (const std::exception& e) {  // e.g. a term that diverges at beta = 1 (CC's scale)
        failed = std::string(e.what()).substr(0, 60);
      }
    }
    if (!failed.empty()) {
      std::printf("| kd + %s | - | - | - | %lld (%s) |\n", term.c_str(), static_cast<long long>(module_params), failed.c_str());
      continue;
    }
    std::sort(ips.begin(), ips.end());
    const double median = ips[ips.size() / 2];
    const double ms = 1000.0 * static_cast<double>(batch) / median;
    if (term == "kd") kd_ms = ms;
    char rel[32] = "-";
    if (kd_ms > 0) std::snprintf(rel, sizeof rel, "%.2fx", ms / kd_ms);
    std::printf("| %s | %.0f | %.1f | %s | %lld |\n", term == "kd" ? "kd (vanilla)" : term == "ce" ? "CE only" : ("kd + " + term).c_str(),
                median, ms, rel, static_cast<long long>(module_params));
    std::fflush(stdout);
  }
  return 0;
}
