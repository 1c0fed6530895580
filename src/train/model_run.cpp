#include "model_run.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <limits>
#include <optional>

#include "kdprune/dist/collective.h"
#include "kdprune/io/csv_table.h"
#include "kdprune/io/metrics_log.h"
#include "kdprune/train/cuda_graph.h"
#include "kdprune/train/lr_schedule.h"
#include "kdprune/train/precision.h"
#include "kdprune/train/progress.h"
#include "kdprune/util/error.h"
#include "rank_sync.h"
#include "update_rules.h"

namespace kdprune::train {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

std::string step_path_reason(const TrainInputs& in, const Precision& precision, bool cuda) {
  if (in.train.cuda_graph == CaptureSetting::off) return "its train.cuda_graph is off";
  const bool streamed = in.data.train.stream != nullptr;
  const bool fp16 = precision.amp == Autocast::fp16;
  std::string why;
  if (!cuda) why = "the device is not CUDA";
  else if (streamed) why = "the images are decoded per batch on the host (data.imagefolder.stream)";
  else if (!StepGraph::supported()) why = "this kdprune was built without CUDA graph support";
  else if (fp16) why = "fp16 loss scaling skips steps on the host (use amp=bf16 or off)";
  else if (!in.loss_capturable) why = "the loss keeps per-step host state (CRD's sampling)";
  return why;
}

StepPath step_path(const TrainInputs& in, const Precision& precision, bool cuda) {
  const auto& t = in.train;
  // The device-indexed step without a graph is for tests (TrainInputs::device_step); fp16 loss
  // scaling needs the host step.
  const bool streamed = in.data.train.stream != nullptr;
  const bool fp16 = precision.amp == Autocast::fp16;
  const StepPath eager = in.device_step && !fp16 && !streamed ? StepPath::device : StepPath::host;
  if (t.cuda_graph == CaptureSetting::off) return eager;
  const std::string why = step_path_reason(in, precision, cuda);
  if (why.empty()) return StepPath::graph;
  // auto trains without a graph where it cannot capture; on refuses, with the reason.
  if (t.cuda_graph == CaptureSetting::on) throw Error("train.cuda_graph=on: cannot capture the training step: " + why + "; use auto or off");
  if (cuda) spdlog::info("training step not captured as a CUDA graph: {}", why);
  return eager;
}

StepPath common_path(const std::vector<StepPath>& paths) {
  const auto any = [&](StepPath p) { return std::find(paths.begin(), paths.end(), p) != paths.end(); };
  if (any(StepPath::host)) return StepPath::host;
  if (any(StepPath::device)) return StepPath::device;
  return StepPath::graph;
}

StepBatch make_batch(const TrainInputs& in, const Precision& precision, const EpochPlan& plan, const EpochShape& shape,
                     const AugmentSpec& aug, const data::Normalizer& normalise, int64_t begin, int64_t end, int64_t epoch,
                     int64_t step, int64_t step_samples, const data::StreamedBatch* decoded) {
  StepBatch b;
  b.indices = plan.order.slice(0, begin, end);
  b.positions = plan.positions.slice(0, begin, end);
  if (const auto& stream = in.data.train.stream) {
    // Streamed: the views (RandomResizedCrop + flip) are drawn per sample by the stream.
    const auto d = decoded ? *decoded
                           : data::stream_images(*stream, b.indices, in.augment, static_cast<uint64_t>(in.seed), epoch,
                                                 in.data.train.labels.device());
    b.x = normalise(d.images);
    if (d.substituted) b.indices = d.samples;  // a file that failed to decode: the sample in its place, with its label
  } else {
    b.x = apply_augment(in.data.train.images.index_select(0, b.indices), plan.augment.slice(begin, end), normalise, aug);
  }
  if (precision.channels_last) b.x = b.x.contiguous(at::MemoryFormat::ChannelsLast);
  b.labels = in.data.train.labels.index_select(0, b.indices);
  const auto i64 = b.indices.options();
  b.epoch = epoch, b.step = step;
  b.rng_seed = stream_seed(in.seed, epoch * shape.steps + step, kLossStream);
  b.step_index = torch::full({}, step, i64);
  b.seed = torch::full({}, static_cast<int64_t>(b.rng_seed), i64);
  b.samples = end - begin;
  b.step_samples = step_samples;
  return b;
}

ModelRun::ModelRun(const TrainInputs& in, const EpochShape& shape, const Precision& precision, StepPath path, const std::string& tag)
    : in_(in), precision_(precision), tag_(tag), shape_(shape), totals_(in.data.train.images.device()), start_(std::chrono::steady_clock::now()) {
  auto& model = in_.model;
  const auto& t = in_.train;
  const auto device = in_.data.train.images.device();
  model.to(device);
  if (precision_.channels_last) to_channels_last(model);
  if (in_.freeze_model) model.eval();
  else model.train();
  params_ = in_.freeze_model ? std::vector<torch::Tensor>{} : in_.parameters.empty() ? model.parameters() : in_.parameters;
  if (in_.loss_modules) {
    in_.loss_modules->to(device);
    in_.loss_modules->train();
    // Frozen modules (FT's paraphraser after its init stage) ride along in the checkpoint only.
    for (const auto& p : in_.loss_modules->parameters())
      if (p.requires_grad()) params_.push_back(p);
  }
  if (params_.empty()) throw Error("nothing to train: no parameter requires a gradient");
  opt_ = std::make_unique<torch::optim::SGD>(
      params_, torch::optim::SGDOptions(t.lr).momentum(t.momentum).nesterov(t.nesterov).weight_decay(t.weight_decay));
  scaler_ = std::make_unique<GradScaler>(precision_.amp == Autocast::fp16, device);
  if (in_.resume && !in_.checkpoint_path.empty() && std::filesystem::exists(in_.checkpoint_path)) {
    state_ = load_checkpoint(in_.checkpoint_path, model, *opt_, "this run's model", in_.loss_modules.get());
    if (state_.scaler.defined() && scaler_->enabled()) scaler_->load_state(state_.scaler);
    spdlog::info("{}resumed from {} after epoch {} of {}", tag_, in_.checkpoint_path, state_.epochs_done, t.epochs);
  } else if (in_.resume) {
    spdlog::info("{}no checkpoint to resume from; starting at epoch 1", tag_);
  }
  if (in_.collective && !in_.collective->alone()) sync_ = std::make_unique<RankSync>(*in_.collective, in_, params_, tag_);
  else if (t.sync_batchnorm) spdlog::info("{}train.sync_batchnorm: one process, nothing to synchronise", tag_);
  if (path == StepPath::host) update_ = std::make_unique<HostUpdate>(t, shape_, *opt_, *scaler_, sync_.get());
  else update_ = std::make_unique<DeviceUpdate>(t, shape_, *opt_, device);
  stop_ = in_.stop_epoch >= 0 ? std::min(in_.stop_epoch, t.epochs) : t.epochs;
  result_.resumed_from = state_.epochs_done;
  // The checkpoint keeps the best top-1 of what chooses the best epoch: validation's or test's.
  if (!in_.validation.empty()) val_ = torch::tensor(in_.validation, torch::kInt64).to(device);
  best_score_ = state_.best_top1;
  carry_loss_ = state_.row_loss, carry_samples_ = state_.row_samples, carry_seconds_ = state_.row_seconds;
  result_.best_by_val = val_.defined();
  (val_.defined() ? result_.best_val_top1 : result_.best_top1) = state_.best_top1;
  result_.best_epoch = state_.best_epoch;
  if (const std::string late = unused_milestones(t); !late.empty()) spdlog::warn("{}{}", tag_, late);
  // Epochs are counted to stop_ in the log ("epoch 3/10"), so a run that ends at stop_ does not read as cut short.
  if (stop_ < t.epochs)
    spdlog::info("{}trains the first {} epochs of a {}-epoch schedule (its learning rate follows all {}): a scoring run "
                 "takes its model at an early epoch of the full recipe",
                 tag_, stop_, t.epochs, t.epochs);
  if (val_.defined())
    spdlog::info("{}validation: {} samples held out of the training view choose the best epoch (best.pt) by their top-1; "
                 "the test split is evaluated for the final model",
                 tag_, val_.size(0));
  spdlog::info("{}training on {} samples, {} steps/epoch, epochs {}..{} (amp {}, channels_last {}, cuda graph {})", tag_,
               shape.n, shape.steps, state_.epochs_done + 1, stop_, autocast_name(precision_.amp),
               precision_.channels_last ? "true" : "false", path == StepPath::graph ? "on" : "off");
}

ModelRun::~ModelRun() = default;

void ModelRun::begin_epoch(int64_t epoch) {
  epoch_ = epoch;
  epoch_samples_ = 0;
  update_->begin_epoch(epoch);
  totals_.reset();
  row_loss_ = 0, row_from_ = 0, row_time_ = epoch_begin_ = std::chrono::steady_clock::now();
}

StepOutputs ModelRun::step(const StepBatch& b) {
  const StepModel m{in_.model, in_.loss, params_, precision_.amp, in_.freeze_model, shape_.n};
  return train_step(m, b, *update_, totals_);
}

void ModelRun::after_step(int64_t step, const StepOutputs& out, int64_t samples) {
  epoch_samples_ += samples;
  if (!in_.observers.empty()) {
    const StepRecord r{epoch_, step, out.indices, out.logits, out.labels};
    for (auto* o : in_.observers) o->on_step(r);
  }
  // Data-parallel: every rank takes part in the row's sum; rank 0 writes it.
  const int64_t every = in_.log_every_steps;
  if (every > 0 && (in_.metrics || sync_) && (epoch_ * shape_.steps + step + 1) % every == 0) log_step(step);
}

void ModelRun::log_step(int64_t step) {
  // The epoch's running loss sum (EpochTotals, on the device): read here only, so a captured or
  // device-indexed step syncs once per row, not per step. The steps since the last row: this
  // epoch's since that row, and those of earlier epochs after it (carried, in the checkpoint too,
  // so a resumed run writes the rows an uninterrupted one does).
  const double sum = sync_ ? sync_->sum(totals_.loss_sum) : totals_.loss_sum.item<double>();
  const auto now = std::chrono::steady_clock::now();
  const int64_t samples =
      std::min(shape_.usable, (step + 1) * shape_.batch) - row_from_ * shape_.batch + carry_samples_;  // all ranks'
  const double seconds = std::chrono::duration<double>(now - row_time_).count() + carry_seconds_;
  io::StepRow r;
  r.step = epoch_ * shape_.steps + step + 1;
  r.epoch = static_cast<double>(epoch_) + static_cast<double>(step + 1) / static_cast<double>(shape_.steps);
  r.steps_per_epoch = shape_.steps;
  r.lr = lr_at(in_.train, epoch_, step, shape_.steps);
  r.loss = samples > 0 ? (sum - row_loss_ + carry_loss_) / static_cast<double>(samples) : 0.0;
  r.images_per_s = seconds > 0 ? static_cast<double>(samples) / seconds : 0.0;
  row_loss_ = sum, row_from_ = step + 1, row_time_ = now;
  carry_loss_ = 0, carry_samples_ = 0, carry_seconds_ = 0;
  if (in_.metrics && writes()) in_.metrics->append_step(r);
}

double ModelRun::loss_so_far(int64_t samples) const {
  // Data-parallel: this rank's mean (its totals are reduced at the end of the epoch).
  const int64_t n = sync_ ? epoch_samples_ : samples;
  return n > 0 ? totals_.loss_sum.item<double>() / static_cast<double>(n) : 0.0;
}

bool ModelRun::writes() const { return !sync_ || sync_->writes(); }

void ModelRun::save(int64_t epochs_done) {
  if (in_.checkpoint_path.empty() || !writes()) return;
  TrainState s{epochs_done, best_score_, result_.best_epoch, scaler_->enabled() ? scaler_->state() : torch::Tensor(),
               carry_loss_, carry_samples_, carry_seconds_};
  save_checkpoint(in_.checkpoint_path, in_.model, *opt_, s, in_.loss_modules.get());
}

void ModelRun::end_epoch(int64_t epoch, double train_seconds) {
  const auto& t = in_.train;
  auto& totals = totals_;
  if (sync_) sync_->reduce(totals);
  const double lr = lr_at(t, epoch, std::max<int64_t>(shape_.steps - 1, 0), shape_.steps);  // the epoch's last step's
  const int64_t usable = shape_.usable;
  if (const int64_t bad = totals.first_bad.item<int64_t>(); bad >= 0) {
    const auto& ck = in_.checkpoint_path;
    throw Error(tag_ + "non-finite training loss at epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(bad + 1) +
                " (lr " + std::to_string(lr) + "); stopped" +
                (ck.empty()                         ? std::string()
                 : std::filesystem::exists(ck) ? ", the last good checkpoint is " + ck + " (after epoch " +
                                                     std::to_string(checkpoint_epochs_done(ck)) + ")"
                                               : std::string(", no checkpoint was written yet")) +
                " — lower train.lr, use amp=off/bf16, or check the data");
  }
  for (auto* o : in_.observers) o->on_epoch_end(epoch);
  const double loss_sum = totals.loss_sum.item<double>();
  const double train_loss = loss_sum / static_cast<double>(usable);
  if (in_.log_every_steps > 0) {  // the steps after the epoch's last step row go to the next row
    carry_loss_ += loss_sum - row_loss_;
    carry_samples_ += usable - row_from_ * shape_.batch;
    carry_seconds_ += std::max(0.0, train_seconds - std::chrono::duration<double>(row_time_ - epoch_begin_).count());
  }
  const double train_acc = 100.0 * static_cast<double>(totals.correct.item<int64_t>()) / static_cast<double>(usable);
  train_time_ += train_seconds;
  trained_images_ += usable;
  const double ips = static_cast<double>(usable) / train_seconds;
  result_.epoch_images_per_second.push_back(ips);
  result_.epoch_train_loss.push_back(train_loss);

  const bool last = epoch + 1 == stop_;
  // The run's ETA: the time per epoch so far (evaluations included) times the epochs left.
  const auto run_eta = [&] {
    const double per_epoch = seconds_since(start_) / static_cast<double>(epoch + 1 - state_.epochs_done);
    return last ? std::string("done") : "ETA " + clock_text(per_epoch * static_cast<double>(stop_ - epoch - 1));
  };
  // The row of metrics_columns(val_.defined()): evaluations filled where made, the rest empty.
  std::vector<std::string> row{std::to_string(epoch + 1), io::csv_field(lr), io::csv_field(train_loss), io::csv_field(train_acc)};
  row.resize(metrics_columns(val_.defined()).size());
  row[row.size() - 2] = io::csv_field(ips);
  // Data-parallel: every rank takes rank 0's BatchNorm statistics before it evaluates or saves.
  if (sync_) sync_->follow_rank0_buffers();
  const std::string evaluated = (epoch + 1) % t.eval_every == 0 || last ? evaluate_epoch(epoch, last, row) : "";
  spdlog::info("{}epoch {}/{}  lr {:.4g}  train loss {:.4f} acc {:.2f}%  {}{:.0f} img/s  {}", tag_, epoch + 1, stop_, lr,
               train_loss, train_acc, evaluated, ips, run_eta());
  row.back() = io::csv_field(seconds_since(start_));
  if (in_.metrics && writes()) in_.metrics->append(row);
  if (last || (t.checkpoint_every > 0 && (epoch + 1) % t.checkpoint_every == 0)) save(epoch + 1);
}

std::string ModelRun::evaluate_epoch(int64_t epoch, bool last, std::vector<std::string>& row) {
  const auto& t = in_.train;
  auto* collective = sync_ ? in_.collective : nullptr;
  std::string line;
  const size_t test_at = val_.defined() ? 6 : 4;  // test_loss's column
  // Without a validation set the test split is evaluated every evaluation epoch and chooses the
  // best (RepDistiller); with one, validation chooses and the test split sees the final model only.
  if (!val_.defined() || last) {
    auto& e = result_.final_eval;
    e = evaluate(in_.model, in_.data.test, in_.data.info, t.eval_batch_size, precision_.amp, precision_.channels_last, collective);
    row[test_at] = io::csv_field(e.loss);
    row[test_at + 1] = io::csv_field(e.top1);
    row[test_at + 2] = io::csv_field(e.top5);
    line = fmt::format("test loss {:.4f} top1 {:.2f}% top5 {:.2f}%  ", e.loss, e.top1, e.top5);
  }
  double score = result_.final_eval.top1;
  if (val_.defined()) {
    auto& v = result_.final_val;
    v = evaluate(in_.model, in_.data.train, val_, in_.data.info, t.eval_batch_size, precision_.amp, precision_.channels_last, collective);
    row[4] = io::csv_field(v.loss);
    row[5] = io::csv_field(v.top1);
    line = fmt::format("val loss {:.4f} top1 {:.2f}%  ", v.loss, v.top1) + line;
    score = v.top1;
  }
  if (result_.best_epoch < 0 || score > best_score_) {
    best_score_ = score;
    (val_.defined() ? result_.best_val_top1 : result_.best_top1) = score;
    result_.best_epoch = epoch + 1;
    if (in_.on_best && writes()) in_.on_best(epoch + 1);
  }
  return line;
}

TrainResult ModelRun::finish() {
  const auto& t = in_.train;
  result_.epochs = stop_;
  result_.train_seconds = train_time_;
  result_.images_per_second = train_time_ > 0 ? static_cast<double>(trained_images_) / train_time_ : 0;
  if (result_.resumed_from >= stop_ || stop_ == 0) {  // nothing trained here: still report the model
    auto* collective = sync_ ? in_.collective : nullptr;
    result_.final_eval = evaluate(in_.model, in_.data.test, in_.data.info, t.eval_batch_size, precision_.amp, precision_.channels_last, collective);
    if (val_.defined())
      result_.final_val = evaluate(in_.model, in_.data.train, val_, in_.data.info, t.eval_batch_size, precision_.amp,
                                   precision_.channels_last, collective);
    if (result_.best_epoch < 0) result_.best_top1 = result_.final_eval.top1, result_.best_val_top1 = result_.final_val.top1;
  }
  return result_;
}

}  // namespace kdprune::train
