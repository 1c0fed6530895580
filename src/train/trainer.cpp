#include "kdprune/train/trainer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

#include "kdprune/io/csv_table.h"
#include "kdprune/io/metrics_log.h"
#include "kdprune/system/cpu_share.h"
#include "kdprune/train/augment.h"
#include "kdprune/train/checkpoint.h"
#include "kdprune/train/cuda_graph.h"
#include "kdprune/train/device_step.h"
#include "kdprune/train/lr_schedule.h"
#include "kdprune/train/precision.h"
#include "kdprune/train/progress.h"
#include "kdprune/util/error.h"

namespace kdprune::train {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void set_lr(torch::optim::SGD& opt, double lr) {
  for (auto& group : opt.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
}

void to_channels_last(models::ModelImpl& model) {
  for (auto& p : model.parameters())
    if (p.dim() == 4) p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
}

// train.cuda_graph: auto captures where it can; on refuses, with the reason, where it cannot.
bool use_cuda_graph(const TrainInputs& in, bool cuda) {
  const auto& mode = in.train.cuda_graph;
  if (mode == "off") return false;
  std::string why;
  if (!cuda) why = "the device is not CUDA";
  else if (!StepGraph::supported()) why = "this kdprune was built without CUDA graph support";
  else if (in.train.amp == "fp16") why = "fp16 loss scaling skips steps on the host (use amp=bf16 or off)";
  else if (!in.loss_capturable) why = "the loss keeps per-step host state (CRD's sampling)";
  if (why.empty()) return true;
  if (mode == "on") throw Error("train.cuda_graph=on: cannot capture the training step: " + why + "; use auto or off");
  if (cuda) spdlog::info("training step not captured as a CUDA graph: {}", why);
  return false;
}

}  // namespace

torch::Tensor cross_entropy_loss(const torch::Tensor&, const models::ModelOutput& out, const torch::Tensor& y, const BatchInfo&) {
  return torch::nn::functional::cross_entropy(out.logits.to(torch::kFloat32), y);
}

std::vector<std::string> metrics_columns() {
  return {"epoch", "lr", "train_loss", "train_acc", "test_loss", "test_top1", "test_top5", "images_per_s", "seconds"};
}

TrainResult fit(const TrainInputs& in) {
  auto& model = in.model;
  const auto& t = in.train;
  const auto device = in.data.train.images.device();
  const bool cuda = device.is_cuda();
  if (cuda) at::globalContext().setBenchmarkCuDNN(true);
  model.to(device);
  if (t.channels_last) to_channels_last(model);
  if (in.freeze_model) model.eval();
  else model.train();

  const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(device);
  const torch::Tensor view = torch::tensor(in.indices, torch::kInt64).to(device);
  const int64_t n = view.size(0);
  if (n == 0) throw Error("the training view is empty (check data.fraction / data.subset)");
  const EpochShape shape(n, t.batch_size);
  const int64_t usable = shape.usable, steps = shape.steps;

  std::vector<torch::Tensor> params = in.freeze_model         ? std::vector<torch::Tensor>{}
                                      : in.parameters.empty() ? model.parameters()
                                                              : in.parameters;
  if (in.loss_modules) {
    in.loss_modules->to(device);
    in.loss_modules->train();
    // Frozen modules (FT's paraphraser after its init stage) ride along in the checkpoint only.
    for (const auto& p : in.loss_modules->parameters())
      if (p.requires_grad()) params.push_back(p);
  }
  if (params.empty()) throw Error("nothing to train: no parameter requires a gradient");
  torch::optim::SGD opt(params, torch::optim::SGDOptions(t.lr)
                                                .momentum(t.momentum)
                                                .nesterov(t.nesterov)
                                                .weight_decay(t.weight_decay));
  GradScaler scaler(t.amp == "fp16", device);
  const AugmentSpec aug = augment_spec(in.data.info, in.data.train.images.size(2), in.augment);
  const data::Normalizer normalise(in.data.info, device);
  const bool graph = use_cuda_graph(in, cuda);
  // The CUDA-graph step's (eager or graphed) path: everything on a side stream (capture needs one).
  std::optional<SideStream> side;
  std::unique_ptr<DeviceStep> device_step;
  if (graph || (in.device_step && !scaler.enabled())) {
    if (graph) side.emplace(device);
    device_step = std::make_unique<DeviceStep>(in, opt, shape, aug, normalise, graph);
  }

  TrainResult result;
  TrainState state;
  if (in.resume && !in.checkpoint_path.empty() && std::filesystem::exists(in.checkpoint_path)) {
    state = load_checkpoint(in.checkpoint_path, model, opt, "this run's model", in.loss_modules.get());
    if (state.scaler.defined() && scaler.enabled()) scaler.load_state(state.scaler);
    spdlog::info("resumed from {} after epoch {} of {}", in.checkpoint_path, state.epochs_done, t.epochs);
  } else if (in.resume) {
    spdlog::info("no checkpoint to resume from; starting at epoch 1");
  }
  const int64_t stop = in.stop_epoch >= 0 ? std::min(in.stop_epoch, t.epochs) : t.epochs;
  result.resumed_from = state.epochs_done;
  result.best_top1 = state.best_top1;
  result.best_epoch = state.best_epoch;
  if (stop < t.epochs) spdlog::info("stopping after epoch {} of a {}-epoch schedule", stop, t.epochs);
  spdlog::info("training on {} samples, {} steps/epoch, epochs {}..{} (crop pad {}, flip {}, amp {}, channels_last {}, cuda graph {})",
               n, steps, state.epochs_done + 1, stop, aug.pad, aug.flip, t.amp, t.channels_last, graph ? "on" : "off");

  auto save = [&](int64_t epochs_done) {
    if (in.checkpoint_path.empty()) return;
    TrainState s{epochs_done, result.best_top1, result.best_epoch, scaler.enabled() ? scaler.state() : torch::Tensor()};
    save_checkpoint(in.checkpoint_path, model, opt, s, in.loss_modules.get());
  };

  system::ThreadGovernor governor(at::get_num_threads(), in.adapt_threads && !cuda);
  const auto start = Clock::now();
  double train_time = 0;
  int64_t trained_images = 0;
  Progress progress(stop, steps, state.epochs_done, 30.0);
  for (int64_t epoch = state.epochs_done; epoch < stop; ++epoch) {
    const auto epoch_start = Clock::now();
    const EpochPlan plan = make_epoch_plan(view, shape, aug, t, in.seed, epoch);
    const double lr = plan.lr_host.back();
    EpochTotals standard_totals(device);
    EpochTotals& totals = device_step ? device_step->totals() : standard_totals;
    if (device_step) device_step->begin_epoch(plan, epoch);
    for (int64_t step = 0; step < steps; ++step) {
      governor.tick();
      const int64_t s = step * t.batch_size, e = std::min(usable, s + t.batch_size);
      StepOutputs rec;
      if (device_step) {
        device_step->run(step);
        rec = device_step->outputs();
      } else {
        rec.indices = plan.order.slice(0, s, e);
        auto x = apply_augment(in.data.train.images.index_select(0, rec.indices), plan.augment.slice(s, e), normalise, aug);
        if (t.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
        rec.labels = in.data.train.labels.index_select(0, rec.indices);
        set_lr(opt, plan.lr_host[static_cast<size_t>(step)]);
        models::ModelOutput out;
        {
          AutocastScope autocast(t.amp, device);
          std::optional<torch::NoGradGuard> frozen;
          if (in.freeze_model) frozen.emplace();
          out = model.forward_all(x);
        }
        const auto positions = plan.positions.slice(0, s, e);
        const BatchInfo batch{positions, epoch, step, n, stream_seed(in.seed, epoch * steps + step, kLossStream)};
        const auto loss = in.loss(x, out, rec.labels, batch);
        opt.zero_grad();
        scaler.scale(loss).backward();
        scaler.step(opt);
        rec.logits = out.logits.detach();
        totals.add(loss.detach(), rec.logits, rec.labels, torch::full({}, step, i64), e - s);
      }
      if (!in.observers.empty()) {
        const StepRecord r{epoch, step, rec.indices, rec.logits, rec.labels};
        for (auto* o : in.observers) o->on_step(r);
      }
      if (in.show_progress)
        progress.step(epoch, step, e - s, [&] { return totals.loss_sum.item<double>() / static_cast<double>(e); });
    }
    progress.end_epoch();
    if (const int64_t bad = totals.first_bad.item<int64_t>(); bad >= 0)
      throw Error("non-finite training loss at epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(bad + 1) +
                  " (lr " + std::to_string(lr) + "); stopped" +
                  (in.checkpoint_path.empty() ? std::string()
                   : std::filesystem::exists(in.checkpoint_path)
                       ? ", the last good checkpoint is " + in.checkpoint_path + " (after epoch " +
                             std::to_string(checkpoint_epochs_done(in.checkpoint_path)) + ")"
                       : std::string(", no checkpoint was written yet")) +
                  " — lower train.lr, use amp=off/bf16, or check the data");
    for (auto* o : in.observers) o->on_epoch_end(epoch);
    const double train_loss = totals.loss_sum.item<double>() / static_cast<double>(usable);
    const double train_acc = 100.0 * static_cast<double>(totals.correct.item<int64_t>()) / static_cast<double>(usable);
    const double epoch_train_s = seconds_since(epoch_start);
    train_time += epoch_train_s;
    trained_images += usable;
    const double ips = static_cast<double>(usable) / epoch_train_s;
    result.epoch_images_per_second.push_back(ips);
    result.epoch_train_loss.push_back(train_loss);

    const bool last = epoch + 1 == stop;
    // The run's ETA: the time per epoch so far (evaluations included) times the epochs left.
    const auto run_eta = [&] {
      const double per_epoch = seconds_since(start) / static_cast<double>(epoch + 1 - state.epochs_done);
      return last ? std::string("done") : "ETA " + clock_text(per_epoch * static_cast<double>(stop - epoch - 1));
    };
    std::vector<std::string> row{std::to_string(epoch + 1), io::csv_field(lr), io::csv_field(train_loss),
                                 io::csv_field(train_acc), "", "", "", io::csv_field(ips), ""};
    if ((epoch + 1) % t.eval_every == 0 || last) {
      result.final_eval = evaluate(model, in.data.test, in.data.info, t.eval_batch_size, t.amp, t.channels_last);
      if (result.best_epoch < 0 || result.final_eval.top1 > result.best_top1) {
        result.best_top1 = result.final_eval.top1;
        result.best_epoch = epoch + 1;
        if (in.on_best) in.on_best(epoch + 1);
      }
      row[4] = io::csv_field(result.final_eval.loss);
      row[5] = io::csv_field(result.final_eval.top1);
      row[6] = io::csv_field(result.final_eval.top5);
      spdlog::info("epoch {}/{}  lr {:.4g}  train loss {:.4f} acc {:.2f}%  test loss {:.4f} top1 {:.2f}% top5 {:.2f}%  {:.0f} img/s  {}",
                   epoch + 1, t.epochs, lr, train_loss, train_acc, result.final_eval.loss, result.final_eval.top1,
                   result.final_eval.top5, ips, run_eta());
    } else {
      spdlog::info("epoch {}/{}  lr {:.4g}  train loss {:.4f} acc {:.2f}%  {:.0f} img/s  {}", epoch + 1, t.epochs, lr,
                   train_loss, train_acc, ips, run_eta());
    }
    row[8] = io::csv_field(seconds_since(start));
    if (in.metrics) in.metrics->append(row);
    if (last || (t.checkpoint_every > 0 && (epoch + 1) % t.checkpoint_every == 0)) save(epoch + 1);
  }
  result.epochs = stop;
  result.train_seconds = train_time;
  result.images_per_second = train_time > 0 ? static_cast<double>(trained_images) / train_time : 0;
  if (result.resumed_from >= stop || stop == 0) {  // nothing trained here: still report the model
    result.final_eval = evaluate(model, in.data.test, in.data.info, t.eval_batch_size, t.amp, t.channels_last);
    if (result.best_epoch < 0) result.best_top1 = result.final_eval.top1;
  }
  return result;
}

}  // namespace kdprune::train
