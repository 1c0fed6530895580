#include "kdprune/train/trainer.h"

#include <spdlog/spdlog.h>

#include <torch/cuda.h>

#include <algorithm>
#include <chrono>

#include "kdprune/system/cpu_share.h"
#include "kdprune/train/progress.h"
#include "kdprune/util/error.h"
#include "model_run.h"

namespace kdprune::train {

torch::Tensor cross_entropy_loss(const torch::Tensor&, const models::ModelOutput& out, const torch::Tensor& y, const BatchInfo&) {
  return torch::nn::functional::cross_entropy(out.logits.to(torch::kFloat32), y);
}

std::vector<std::string> metrics_columns() {
  return {"epoch", "lr", "train_loss", "train_acc", "test_loss", "test_top1", "test_top5", "images_per_s", "seconds"};
}

namespace {
// What a group's members must share to see the same batches.
void check_group(const std::vector<TrainInputs>& runs) {
  const auto& a = runs.front();
  for (size_t i = 1; i < runs.size(); ++i) {
    const auto& b = runs[i];
    std::string what;
    if (!b.data.train.images.is_same(a.data.train.images) || !b.data.test.images.is_same(a.data.test.images)) what = "the dataset";
    else if (b.indices != a.indices) what = "the training view";
    else if (b.train.batch_size != a.train.batch_size) what = "train.batch_size";
    else if (b.seed != a.seed) what = "run.seed";
    else if (b.augment != a.augment) what = "data.augment";
    else if (b.train.amp != a.train.amp) what = "train.amp";
    else if (b.train.channels_last != a.train.channels_last) what = "train.channels_last";
    if (!what.empty())
      throw Error("students trained together must share " + what + " (student " + std::to_string(i + 1) +
                  " differs from student 1)");
  }
}
}  // namespace

std::vector<TrainResult> fit_group(const std::vector<TrainInputs>& runs, const std::vector<std::string>& names) {
  if (runs.empty()) return {};
  check_group(runs);
  const auto& lead = runs.front();
  const auto device = lead.data.train.images.device();
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  const torch::Tensor view = torch::tensor(lead.indices, torch::kInt64).to(device);
  const int64_t n = view.size(0);
  if (n == 0) throw Error("the training view is empty (check data.fraction / data.subset)");
  const EpochShape shape(n, lead.train.batch_size);
  const AugmentSpec aug = augment_spec(lead.data.info, lead.data.train.images.size(2), lead.augment);
  const data::Normalizer normalise(lead.data.info, device);
  const bool alone = runs.size() == 1;

  std::vector<std::unique_ptr<ModelRun>> models;
  for (size_t i = 0; i < runs.size(); ++i) {
    const std::string tag = alone ? "" : "[" + (i < names.size() ? names[i] : "student " + std::to_string(i + 1)) + "] ";
    models.push_back(std::make_unique<ModelRun>(runs[i], shape, aug, normalise, alone, tag));
  }
  std::vector<std::string> failures(models.size());
  int64_t first = models.front()->first_epoch(), stop = models.front()->stop();
  for (const auto& m : models) first = std::min(first, m->first_epoch()), stop = std::max(stop, m->stop());
  if (!alone) spdlog::info("{} students train together: one batch per step, shared", runs.size());

  system::ThreadGovernor governor(at::get_num_threads(), lead.adapt_threads && !device.is_cuda());
  Progress progress(stop, shape.steps, first, 30.0);
  // Epochs are a pure function of (seed, epoch), so a student resumed later joins at its epoch.
  for (int64_t epoch = first; epoch < stop; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    std::vector<ModelRun*> active;
    for (size_t i = 0; i < models.size(); ++i)
      if (failures[i].empty() && models[i]->first_epoch() <= epoch && epoch < models[i]->stop()) active.push_back(models[i].get());
    if (active.empty()) continue;
    const EpochPlan plan = make_epoch_plan(view, shape, aug, lead.train, lead.seed, epoch);
    for (auto* m : active) m->begin_epoch(plan, epoch);
    for (int64_t step = 0; step < shape.steps; ++step) {
      governor.tick();
      const int64_t s = step * shape.batch, e = std::min(shape.usable, s + shape.batch);
      if (alone && active.front()->uses_device_step()) {
        active.front()->device_step(step);
      } else {
        const Batch batch = make_batch(lead, plan, aug, normalise, s, e);
        for (auto* m : active) m->step(batch, epoch, step);
      }
      if (lead.show_progress) progress.step(epoch, step, e - s, [&] { return active.front()->loss_so_far(e); });
    }
    progress.end_epoch();
    if (device.is_cuda()) torch::cuda::synchronize(device.index());  // the epoch's GPU work is done
    const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    for (size_t i = 0; i < models.size(); ++i) {
      auto* m = models[i].get();
      if (std::find(active.begin(), active.end(), m) == active.end()) continue;
      try {
        m->end_epoch(epoch, train_seconds);
      } catch (const Error& e) {
        // Alone: as always. In a group: the others train on; this one is reported at the end.
        if (alone) throw;
        failures[i] = e.what();
        spdlog::error("{}", e.what());
      }
    }
  }
  std::vector<TrainResult> results;
  for (size_t i = 0; i < models.size(); ++i) {
    results.push_back(failures[i].empty() ? models[i]->finish() : TrainResult{});
    results.back().error = failures[i];
  }
  return results;
}

TrainResult fit(const TrainInputs& in) { return fit_group({in}).front(); }

}  // namespace kdprune::train
