#include "kdprune/train/trainer.h"

#include <spdlog/spdlog.h>

#include <torch/cuda.h>

#include <algorithm>
#include <future>
#include <chrono>
#include <optional>

#include "kdprune/dist/collective.h"
#include "kdprune/system/cpu_share.h"
#include "kdprune/train/cuda_graph.h"
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
// One path for the whole group (the models share each step): the graph only if every model can be
// captured, else the eager path all can take.
StepPath group_path(const std::vector<TrainInputs>& runs, bool cuda, bool data_parallel) {
  if (data_parallel) {  // the gradients are reduced during and after backward, not inside a captured step
    if (runs.front().train.cuda_graph == "on")
      throw Error("train.cuda_graph=on: data-parallel training steps eagerly (its gradient reduction is not captured); use auto or off");
    return StepPath::standard;
  }
  std::vector<StepPath> paths;
  for (const auto& r : runs) paths.push_back(step_path(r, cuda));
  const auto path = *std::min_element(paths.begin(), paths.end());
  if (path == StepPath::graph || runs.size() == 1) return path;
  const auto blocker = std::find(paths.begin(), paths.end(), path) - paths.begin();
  for (size_t i = 0; i < runs.size(); ++i)
    if (paths[i] == StepPath::graph && runs[i].train.cuda_graph == "on")
      throw Error("train.cuda_graph=on: student " + std::to_string(i + 1) + " trains together with student " +
                  std::to_string(blocker + 1) + ", whose step cannot be captured; use auto or train them apart");
  if (std::find(paths.begin(), paths.end(), StepPath::graph) != paths.end())
    spdlog::info("students trained together: not captured as a CUDA graph (student {}'s step cannot be)", blocker + 1);
  return path;
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
  // Data-parallel: each step takes world × batch samples, this rank its part of them.
  dist::Collective* collective = lead.collective && !lead.collective->alone() ? lead.collective : nullptr;
  const int64_t world = collective ? collective->world() : 1, rank = collective ? collective->rank() : 0;
  if (collective && runs.size() > 1)
    throw Error("data-parallel training trains one model per process (train the students one at a time)");
  if (collective && !lead.observers.empty())
    throw Error("data-parallel training: scoring observers see one rank's samples only; score in one process");
  const EpochShape shape(n, lead.train.batch_size * world, 2 * world);
  const AugmentSpec aug = augment_spec(lead.data.info, lead.data.train.images.size(2), lead.augment);
  const data::Normalizer normalise(lead.data.info, device);
  const bool alone = runs.size() == 1;
  const StepPath path = group_path(runs, device.is_cuda(), collective != nullptr);
  // A graph is recorded on a side stream (capture cannot use the legacy default stream); the whole
  // run, evaluation included, stays on it.
  std::optional<SideStream> side;
  if (path == StepPath::graph) side.emplace(device);

  std::vector<std::unique_ptr<ModelRun>> models;
  for (size_t i = 0; i < runs.size(); ++i) {
    const std::string tag = alone ? "" : "[" + (i < names.size() ? names[i] : "student " + std::to_string(i + 1)) + "] ";
    models.push_back(std::make_unique<ModelRun>(runs[i], shape, path, tag));
  }
  std::vector<std::string> failures(models.size());
  int64_t first = models.front()->first_epoch(), stop = models.front()->stop();
  for (const auto& m : models) first = std::min(first, m->first_epoch()), stop = std::max(stop, m->stop());
  if (!alone) spdlog::info("{} students train together: one batch per step, shared", runs.size());

  system::ThreadGovernor governor(at::get_num_threads(), lead.adapt_threads && !device.is_cuda());
  Progress progress(stop, shape.steps, first, 30.0);
  // The device path's step, for the models it was made for (a model that stops or joins later
  // changes the set, and the step, with its graph, is made again).
  std::unique_ptr<DeviceStep> device_step;
  std::vector<ModelRun*> stepping;
  // Epochs are a pure function of (seed, epoch), so a student resumed later joins at its epoch.
  for (int64_t epoch = first; epoch < stop; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    std::vector<ModelRun*> active;
    for (size_t i = 0; i < models.size(); ++i)
      if (failures[i].empty() && models[i]->first_epoch() <= epoch && epoch < models[i]->stop()) active.push_back(models[i].get());
    if (active.empty()) continue;
    const EpochPlan plan = make_epoch_plan(view, shape, aug, lead.seed, epoch);
    for (auto* m : active) m->begin_epoch(epoch);
    if (path != StepPath::standard) {
      if (active != stepping) {
        if (device_step && path == StepPath::graph) spdlog::info("the group changed at epoch {}: capturing its step again", epoch + 1);
        std::vector<DeviceUpdate*> updates;
        for (auto* m : active) updates.push_back(m->device_update());
        device_step.reset();
        device_step = std::make_unique<DeviceStep>(lead, updates, shape, aug, normalise, path == StepPath::graph);
        stepping = active;
      }
      device_step->begin_epoch(plan, epoch);
    }
    // This rank's part [begin, end) of a step's samples in the epoch's order.
    const auto rank_part = [&](int64_t step) {
      const int64_t s = step * shape.batch, len = std::min(shape.usable, s + shape.batch) - s;
      return std::pair{s + len * rank / world, s + len * (rank + 1) / world};
    };
    // Streamed images: the next step's are decoded on a host thread while this step trains.
    std::future<data::StreamedBatch> ahead;
    const torch::Tensor order_cpu = lead.data.train.stream ? plan.order.to(torch::kCPU) : torch::Tensor();
    const auto decode_ahead = [&](int64_t step) {
      const auto [begin, end] = rank_part(step);
      const auto idx = order_cpu.slice(0, begin, end);
      return std::async(std::launch::async, [&lead, idx, epoch, device] {
        return data::stream_images(*lead.data.train.stream, idx, lead.augment, static_cast<uint64_t>(lead.seed), epoch, device);
      });
    };
    if (lead.data.train.stream && !device_step && shape.steps > 0) ahead = decode_ahead(0);
    for (int64_t step = 0; step < shape.steps; ++step) {
      governor.tick();
      const int64_t s = step * shape.batch, e = std::min(shape.usable, s + shape.batch);
      if (device_step) {
        device_step->run(step);
        for (size_t i = 0; i < active.size(); ++i) active[i]->after_device_step(step, device_step->outputs(i));
      } else {
        const int64_t len = e - s;
        std::optional<data::StreamedBatch> decoded;
        if (ahead.valid()) {
          decoded = ahead.get();
          if (step + 1 < shape.steps) ahead = decode_ahead(step + 1);
        }
        const auto [begin, end] = rank_part(step);
        Batch batch = make_batch(lead, plan, aug, normalise, begin, end, epoch, decoded ? &*decoded : nullptr);
        batch.step_size = len;
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
