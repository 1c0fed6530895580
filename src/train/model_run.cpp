#include "model_run.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <limits>
#include <optional>

#include "kdprune/dist/collective.h"
#include "kdprune/io/csv_table.h"
#include "kdprune/io/metrics_log.h"
#include "kdprune/models/batch_norm.h"
#include "kdprune/train/cuda_graph.h"
#include "kdprune/train/lr_schedule.h"
#include "kdprune/train/precision.h"
#include "kdprune/train/progress.h"
#include "kdprune/util/error.h"

namespace kdprune::train {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void set_lr(torch::optim::SGD& opt, double lr) {
  for (auto& group : opt.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
}

}  // namespace

StepPath step_path(const TrainInputs& in, bool cuda) {
  const auto& t = in.train;
  // The device-indexed step without a graph is for tests (TrainInputs::device_step); fp16 loss
  // scaling needs the standard step.
  const bool streamed = in.data.train.stream != nullptr;
  const StepPath eager = in.device_step && t.amp != "fp16" && !streamed ? StepPath::device : StepPath::standard;
  if (t.cuda_graph == "off") return eager;
  std::string why;
  if (!cuda) why = "the device is not CUDA";
  else if (streamed) why = "the images are decoded per batch on the host (data.imagefolder.stream)";
  else if (!StepGraph::supported()) why = "this kdprune was built without CUDA graph support";
  else if (t.amp == "fp16") why = "fp16 loss scaling skips steps on the host (use amp=bf16 or off)";
  else if (!in.loss_capturable) why = "the loss keeps per-step host state (CRD's sampling)";
  if (why.empty()) return StepPath::graph;
  // auto trains without a graph where it cannot capture; on refuses, with the reason.
  if (t.cuda_graph == "on") throw Error("train.cuda_graph=on: cannot capture the training step: " + why + "; use auto or off");
  if (cuda) spdlog::info("training step not captured as a CUDA graph: {}", why);
  return eager;
}

Batch make_batch(const TrainInputs& in, const EpochPlan& plan, const AugmentSpec& aug, const data::Normalizer& normalise,
                 int64_t begin, int64_t end, int64_t epoch, const data::StreamedBatch* decoded) {
  Batch b;
  b.begin = begin, b.end = end;
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
  if (channels_last_on(in.train)) b.x = b.x.contiguous(at::MemoryFormat::ChannelsLast);
  b.labels = in.data.train.labels.index_select(0, b.indices);
  return b;
}

ModelRun::ModelRun(const TrainInputs& in, const EpochShape& shape, StepPath path, const std::string& tag)
    : in_(in), collective_(in.collective && !in.collective->alone() ? in.collective : nullptr), shape_(shape), tag_(tag), totals_(in.data.train.images.device()), start_(std::chrono::steady_clock::now()) {
  auto& model = in.model;
  const auto& t = in.train;
  const auto device = in.data.train.images.device();
  model.to(device);
  if (channels_last_on(t)) to_channels_last(model);
  if (in.freeze_model) model.eval();
  else model.train();
  params_ = in.freeze_model ? std::vector<torch::Tensor>{} : in.parameters.empty() ? model.parameters() : in.parameters;
  if (in.loss_modules) {
    in.loss_modules->to(device);
    in.loss_modules->train();
    // Frozen modules (FT's paraphraser after its init stage) ride along in the checkpoint only.
    for (const auto& p : in.loss_modules->parameters())
      if (p.requires_grad()) params_.push_back(p);
  }
  if (params_.empty()) throw Error("nothing to train: no parameter requires a gradient");
  opt_ = std::make_unique<torch::optim::SGD>(
      params_, torch::optim::SGDOptions(t.lr).momentum(t.momentum).nesterov(t.nesterov).weight_decay(t.weight_decay));
  scaler_ = std::make_unique<GradScaler>(t.amp == "fp16", device);
  if (path != StepPath::standard) update_ = std::make_unique<DeviceUpdate>(in, *opt_, shape);
  if (in.resume && !in.checkpoint_path.empty() && std::filesystem::exists(in.checkpoint_path)) {
    state_ = load_checkpoint(in.checkpoint_path, model, *opt_, "this run's model", in.loss_modules.get());
    if (state_.scaler.defined() && scaler_->enabled()) scaler_->load_state(state_.scaler);
    spdlog::info("{}resumed from {} after epoch {} of {}", tag_, in.checkpoint_path, state_.epochs_done, t.epochs);
  } else if (in.resume) {
    spdlog::info("{}no checkpoint to resume from; starting at epoch 1", tag_);
  }
  if (collective_) {  // every rank starts from rank 0's weights (and resumed state)
    std::vector<torch::Tensor> state = model.parameters();
    for (const auto& b : model.buffers()) state.push_back(b);
    if (in.loss_modules) {
      for (const auto& p : in.loss_modules->parameters()) state.push_back(p);
      for (const auto& b : in.loss_modules->buffers()) state.push_back(b);
    }
    collective_->broadcast(state);
    const auto bucket_bytes = static_cast<int64_t>(std::min(t.grad_bucket_mb, 1e6) * (1 << 20));  // at most ~1 TB
    const dist::BucketSizes buckets{.first_bytes = std::min<int64_t>(dist::BucketSizes{}.first_bytes, bucket_bytes), .bytes = bucket_bytes};
    reducer_ = std::make_unique<dist::GradReducer>(*collective_, params_, buckets, t.grad_overlap);
    if (t.sync_batchnorm) synced_bn_ = models::set_sync_batchnorm(model, collective_);
    spdlog::info("{}data-parallel: rank {} of {}, {} samples per rank per step; gradients in {} bucket(s) of <= {} MiB, {}; BatchNorm {}",
                 tag_, collective_->rank(), collective_->world(), t.batch_size, reducer_->buckets(), t.grad_bucket_mb,
                 t.grad_overlap ? "reduced during backward" : "reduced after backward",
                 t.sync_batchnorm ? "statistics over all ranks (" + std::to_string(synced_bn_) + " layers synchronised)"
                                  : "statistics per rank, running statistics rank 0's");
  } else if (t.sync_batchnorm) {
    spdlog::info("{}train.sync_batchnorm: one process, nothing to synchronise", tag_);
  }
  stop_ = in.stop_epoch >= 0 ? std::min(in.stop_epoch, t.epochs) : t.epochs;
  result_.resumed_from = state_.epochs_done;
  result_.best_top1 = state_.best_top1;
  result_.best_epoch = state_.best_epoch;
  if (stop_ < t.epochs) spdlog::info("{}stopping after epoch {} of a {}-epoch schedule", tag_, stop_, t.epochs);
  spdlog::info("{}training on {} samples, {} steps/epoch, epochs {}..{} (amp {}, channels_last {}, cuda graph {})", tag_,
               shape.n, shape.steps, state_.epochs_done + 1, stop_, t.amp, t.channels_last, path == StepPath::graph ? "on" : "off");
}

ModelRun::~ModelRun() {
  // The model outlives this run: its BatchNorm must not reach for the group afterwards.
  if (synced_bn_ > 0) models::set_sync_batchnorm(in_.model, nullptr);
}

std::vector<torch::Tensor> ModelRun::rank0_buffers() const {
  // Per-rank BatchNorm (the model's, or in the loss's modules) keeps rank 0's running statistics,
  // as DDP's broadcast_buffers; synchronised BatchNorm computes the same statistics on every rank.
  std::vector<torch::Tensor> b;
  if (synced_bn_ == 0) b = in_.model.buffers();
  if (in_.loss_modules)
    for (const auto& t : in_.loss_modules->buffers()) b.push_back(t);
  return b;
}

void ModelRun::begin_epoch(int64_t epoch) {
  epoch_ = epoch;
  lr_.clear();
  epoch_samples_ = 0;
  for (int64_t s = 0; s < shape_.steps; ++s) lr_.push_back(lr_at(in_.train, epoch, s, shape_.steps));
  if (update_) update_->begin_epoch(epoch);
  else totals_.reset();
}

void ModelRun::observe(int64_t epoch, int64_t step, const StepOutputs& out) {
  if (in_.observers.empty()) return;
  const StepRecord r{epoch, step, out.indices, out.logits, out.labels};
  for (auto* o : in_.observers) o->on_step(r);
}

void ModelRun::after_device_step(int64_t step, const StepOutputs& out) { observe(epoch_, step, out); }

void ModelRun::step(const Batch& b, int64_t epoch, int64_t step) {
  const auto& t = in_.train;
  set_lr(*opt_, lr_[static_cast<size_t>(step)]);
  if (collective_) collective_->broadcast(rank0_buffers());  // BatchNorm statistics follow rank 0 (DDP's broadcast_buffers)
  models::ModelOutput out;
  {
    AutocastScope autocast(t.amp, b.x.device());
    std::optional<torch::NoGradGuard> frozen;
    if (in_.freeze_model) frozen.emplace();
    out = in_.model.forward_all(b.x);
  }
  const BatchInfo info{b.positions, epoch, step, shape_.n, stream_seed(in_.seed, epoch * shape_.steps + step, kLossStream)};
  const auto loss = in_.loss(b.x, out, b.labels, info);
  opt_->zero_grad();
  if (collective_) {
    // Weighted by this rank's share of the step's samples, summed over ranks and divided by the
    // world: Σ_r (n_r / N)·g_r, the gradient of the whole step's mean loss.
    const double share = static_cast<double>((b.end - b.begin) * collective_->world()) / static_cast<double>(b.step_size);
    const auto scaled = scaler_->scale(loss * share);
    reducer_->prepare(scaled);
    scaled.backward();
    reducer_->finish();  // .grad: the mean over ranks
  } else {
    scaler_->scale(loss).backward();
  }
  scaler_->step(*opt_);
  const StepOutputs o{b.indices, out.logits.detach(), b.labels};
  totals_.add(loss.detach(), o.logits, o.labels, torch::full({}, step, b.indices.options()), b.end - b.begin);
  epoch_samples_ += b.end - b.begin;
  observe(epoch, step, o);
}

double ModelRun::loss_so_far(int64_t samples) const {
  const auto& totals = update_ ? update_->totals() : totals_;
  // Data-parallel: this rank's mean (its totals are reduced at the end of the epoch).
  const int64_t n = collective_ ? epoch_samples_ : samples;
  return n > 0 ? totals.loss_sum.item<double>() / static_cast<double>(n) : 0.0;
}

bool ModelRun::writes() const { return !collective_ || collective_->rank() == 0; }

void ModelRun::reduce_totals(EpochTotals& totals) {
  constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
  auto bad = torch::where(totals.first_bad.lt(0), torch::full_like(totals.first_bad, kNone), totals.first_bad);
  collective_->allreduce({totals.loss_sum, totals.correct});
  collective_->allreduce({bad}, dist::Reduce::min);
  totals.first_bad.copy_(torch::where(bad.eq(kNone), torch::full_like(bad, -1), bad));
}

void ModelRun::save(int64_t epochs_done) {
  if (in_.checkpoint_path.empty() || !writes()) return;
  TrainState s{epochs_done, result_.best_top1, result_.best_epoch, scaler_->enabled() ? scaler_->state() : torch::Tensor()};
  save_checkpoint(in_.checkpoint_path, in_.model, *opt_, s, in_.loss_modules.get());
}

void ModelRun::end_epoch(int64_t epoch, double train_seconds) {
  const auto& t = in_.train;
  auto& totals = update_ ? update_->totals() : totals_;
  if (collective_) reduce_totals(totals);
  const double lr = lr_.back();
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
  const double train_loss = totals.loss_sum.item<double>() / static_cast<double>(usable);
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
  std::vector<std::string> row{std::to_string(epoch + 1), io::csv_field(lr), io::csv_field(train_loss),
                               io::csv_field(train_acc), "", "", "", io::csv_field(ips), ""};
  // Data-parallel: every rank takes rank 0's BatchNorm statistics before it evaluates or saves.
  if (collective_) collective_->broadcast(rank0_buffers());
  if ((epoch + 1) % t.eval_every == 0 || last) {
    auto& e = result_.final_eval;
    e = evaluate(in_.model, in_.data.test, in_.data.info, t.eval_batch_size, t.amp, channels_last_on(t), collective_);
    if (result_.best_epoch < 0 || e.top1 > result_.best_top1) {
      result_.best_top1 = e.top1;
      result_.best_epoch = epoch + 1;
      if (in_.on_best && writes()) in_.on_best(epoch + 1);
    }
    row[4] = io::csv_field(e.loss);
    row[5] = io::csv_field(e.top1);
    row[6] = io::csv_field(e.top5);
    spdlog::info("{}epoch {}/{}  lr {:.4g}  train loss {:.4f} acc {:.2f}%  test loss {:.4f} top1 {:.2f}% top5 {:.2f}%  {:.0f} img/s  {}",
                 tag_, epoch + 1, t.epochs, lr, train_loss, train_acc, e.loss, e.top1, e.top5, ips, run_eta());
  } else {
    spdlog::info("{}epoch {}/{}  lr {:.4g}  train loss {:.4f} acc {:.2f}%  {:.0f} img/s  {}", tag_, epoch + 1, t.epochs, lr,
                 train_loss, train_acc, ips, run_eta());
  }
  row[8] = io::csv_field(seconds_since(start_));
  if (in_.metrics && writes()) in_.metrics->append(row);
  if (last || (t.checkpoint_every > 0 && (epoch + 1) % t.checkpoint_every == 0)) save(epoch + 1);
}

TrainResult ModelRun::finish() {
  const auto& t = in_.train;
  result_.epochs = stop_;
  result_.train_seconds = train_time_;
  result_.images_per_second = train_time_ > 0 ? static_cast<double>(trained_images_) / train_time_ : 0;
  if (result_.resumed_from >= stop_ || stop_ == 0) {  // nothing trained here: still report the model
    result_.final_eval = evaluate(in_.model, in_.data.test, in_.data.info, t.eval_batch_size, t.amp, channels_last_on(t), collective_);
    if (result_.best_epoch < 0) result_.best_top1 = result_.final_eval.top1;
  }
  return result_;
}

}  // namespace kdprune::train
