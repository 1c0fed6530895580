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
#include "kdprune/train/lr_schedule.h"
#include "kdprune/train/precision.h"
#include "kdprune/train/progress.h"
#include "kdprune/util/error.h"

namespace kdprune::train {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// splitmix64 over (seed, epoch, stream): independent, reproducible generator seeds.
uint64_t stream_seed(int64_t seed, int64_t epoch, uint64_t stream) {
  uint64_t z = static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch) * 0xBF58476D1CE4E5B9ULL + stream;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
constexpr uint64_t kOrderStream = 1, kAugmentStream = 2, kLossStream = 3;

void set_lr(torch::optim::SGD& opt, double lr) {
  for (auto& group : opt.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
}

void to_channels_last(models::ModelImpl& model) {
  for (auto& p : model.parameters())
    if (p.dim() == 4) p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
}

}  // namespace

torch::Tensor cross_entropy_loss(const torch::Tensor&, const models::ModelOutput& out, const torch::Tensor& y, const BatchInfo&) {
  return torch::nn::functional::cross_entropy(out.logits.to(torch::kFloat32), y);
}

torch::Tensor epoch_permutation(int64_t n, int64_t seed, int64_t epoch) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(stream_seed(seed, epoch, kOrderStream));
  return torch::randperm(n, gen, torch::kInt64);
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
  // BatchNorm cannot train on a batch of one: a lone last sample sits out that epoch.
  const int64_t usable = (n > 1 && n % t.batch_size == 1) ? n - 1 : n;
  const int64_t steps = (usable + t.batch_size - 1) / t.batch_size;

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
  spdlog::info("training on {} samples, {} steps/epoch, epochs {}..{} (crop pad {}, flip {}, amp {}, channels_last {})",
               n, steps, state.epochs_done + 1, stop, aug.pad, aug.flip, t.amp, t.channels_last);

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
    const auto perm = epoch_permutation(n, in.seed, epoch).to(device);
    const auto order = view.index_select(0, perm);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(stream_seed(in.seed, epoch, kAugmentStream));
    auto loss_sum = torch::zeros({}, i64.dtype(torch::kFloat64));
    auto correct = torch::zeros({}, i64);
    auto first_bad = torch::full({}, -1, i64);  // first step with a non-finite loss, found without a sync
    double lr = t.lr;
    for (int64_t step = 0; step < steps; ++step) {
      governor.tick();
      const int64_t s = step * t.batch_size, e = std::min(usable, s + t.batch_size);
      const auto idx = order.slice(0, s, e);
      auto x = augment_batch(in.data.train.images.index_select(0, idx), normalise, aug, gen);
      if (t.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
      const auto y = in.data.train.labels.index_select(0, idx);
      lr = lr_at(t, epoch, step, steps);
      set_lr(opt, lr);
      models::ModelOutput out;
      {
        AutocastScope autocast(t.amp, device);
        std::optional<torch::NoGradGuard> frozen;
        if (in.freeze_model) frozen.emplace();
        out = model.forward_all(x);
      }
      const auto positions = perm.slice(0, s, e);
      const BatchInfo batch{positions, epoch, step, n, stream_seed(in.seed, epoch * steps + step, kLossStream)};
      const auto loss = in.loss(x, out, y, batch);
      opt.zero_grad();
      scaler.scale(loss).backward();
      scaler.step(opt);

      const auto l = loss.detach();
      first_bad = torch::where(first_bad.lt(0) & ~torch::isfinite(l), torch::full({}, step, i64), first_bad);
      loss_sum += l.to(torch::kFloat64) * static_cast<double>(e - s);
      const auto logits = out.logits.detach();
      correct += logits.argmax(1).eq(y).sum();
      if (!in.observers.empty()) {
        const StepRecord rec{epoch, step, idx, logits, y};
        for (auto* o : in.observers) o->on_step(rec);
      }
      if (in.show_progress)
        progress.step(epoch, step, e - s, [&] { return loss_sum.item<double>() / static_cast<double>(e); });
    }
    progress.end_epoch();
    if (const int64_t bad = first_bad.item<int64_t>(); bad >= 0)
      throw Error("non-finite training loss at epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(bad + 1) +
                  " (lr " + std::to_string(lr) + "); stopped" +
                  (in.checkpoint_path.empty() ? std::string()
                   : std::filesystem::exists(in.checkpoint_path)
                       ? ", the last good checkpoint is " + in.checkpoint_path + " (after epoch " +
                             std::to_string(checkpoint_epochs_done(in.checkpoint_path)) + ")"
                       : std::string(", no checkpoint was written yet")) +
                  " — lower train.lr, use amp=off/bf16, or check the data");
    for (auto* o : in.observers) o->on_epoch_end(epoch);
    const double train_loss = loss_sum.item<double>() / static_cast<double>(usable);
    const double train_acc = 100.0 * static_cast<double>(correct.item<int64_t>()) / static_cast<double>(usable);
    const double epoch_train_s = seconds_since(epoch_start);
    train_time += epoch_train_s;
    trained_images += usable;
    const double ips = static_cast<double>(usable) / epoch_train_s;

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
