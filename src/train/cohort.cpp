#include "cohort.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <new>
#include <optional>
#include <utility>

#include "kdprune/dist/collective.h"
#include "kdprune/system/failure.h"
#include "kdprune/train/progress.h"
#include "kdprune/util/error.h"

namespace kdprune::train {

bool same_batches(const TrainInputs& a, const Precision& pa, const TrainInputs& b, const Precision& pb) {
  return b.data.train.images.is_same(a.data.train.images) && b.data.test.images.is_same(a.data.test.images) &&
         b.indices == a.indices && b.train.batch_size == a.train.batch_size && b.seed == a.seed &&
         b.augment == a.augment && pa == pb;
}

namespace {
int64_t world_of(dist::Collective* c) { return c ? c->world() : 1; }
}  // namespace

Cohort::Cohort(const std::vector<TrainInputs>& runs, std::vector<size_t> members, const std::vector<std::string>& tags,
               const Precision& precision, StepPath path, dist::Collective* collective, bool rethrow)
    : lead_(runs.at(members.at(0))),
      members_(std::move(members)),
      collective_(collective),
      world_(world_of(collective)),
      rank_(collective ? collective->rank() : 0),
      device_(lead_.data.train.images.device()),
      view_(torch::tensor(lead_.indices, torch::kInt64).to(device_)),
      shape_(view_.size(0), lead_.train.batch_size * world_, 2 * world_),
      aug_(augment_spec(lead_.data.info, lead_.data.train.images.size(2), lead_.augment)),
      normalise_(lead_.data.info, device_),
      precision_(precision),
      path_(path) {
  if (shape_.n == 0) throw Error("the training view is empty (check data.fraction / data.subset)");
  stream_ = std::make_unique<OwnStream>(device_);
  const OwnStream::Use on_own(*stream_);
  failures_.resize(members_.size());
  for (size_t i = 0; i < members_.size(); ++i) {
    preludes_.push_back(runs[members_[i]].prelude);
    // A model that cannot start (its checkpoint, its loss's modules) is a failure of its own.
    try {
      models_.push_back(std::make_unique<ModelRun>(runs[members_[i]], shape_, precision_, path_, tags[members_[i]]));
    } catch (...) {
      if (rethrow) throw;
      models_.push_back(nullptr);
      failures_[i] = failure_line(tags[members_[i]], "failed to start");
    }
  }
  epoch_ = first_epoch();
  finished_ = epoch_ >= stop();
}

Cohort::~Cohort() {
  // A step left unfinished by an exception must not leave a decode running on freed state.
  if (ahead_.valid()) ahead_.wait();
  // The device step (its graph and streams) goes before the stream its work was issued on.
  const OwnStream::Use on_own(*stream_);
  device_step_.reset();
  models_.clear();
}

void Cohort::update_preludes() {
  active_preludes_.clear();
  for (auto* m : active_) {
    const size_t i = static_cast<size_t>(
        std::find_if(models_.begin(), models_.end(), [&](const auto& p) { return p.get() == m; }) - models_.begin());
    if (preludes_[i] && std::find(active_preludes_.begin(), active_preludes_.end(), preludes_[i]) == active_preludes_.end())
      active_preludes_.push_back(preludes_[i]);
  }
}

int64_t Cohort::first_epoch() const {
  int64_t first = -1;
  for (const auto& m : models_)
    if (m) first = first < 0 ? m->first_epoch() : std::min(first, m->first_epoch());
  return std::max<int64_t>(first, 0);
}

int64_t Cohort::stop() const {
  int64_t stop = 0;
  for (const auto& m : models_)
    if (m) stop = std::max(stop, m->stop());
  return stop;
}

int64_t Cohort::steps_left() const {
  if (finished_) return 0;
  return (stop() - epoch_) * shape_.steps - (in_epoch_ ? step_ : 0);
}

std::pair<int64_t, int64_t> Cohort::rank_part(int64_t step) const {
  // This rank's part [begin, end) of a step's samples in the epoch's order.
  const int64_t s = step * shape_.batch, len = std::min(shape_.usable, s + shape_.batch) - s;
  return {s + len * rank_ / world_, s + len * (rank_ + 1) / world_};
}

std::future<data::StreamedBatch> Cohort::decode_ahead(int64_t step) {
  const auto [begin, end] = rank_part(step);
  const auto idx = order_cpu_.slice(0, begin, end);
  return std::async(std::launch::async, [lead = &lead_, idx, epoch = epoch_, device = device_] {
    return data::stream_images(*lead->data.train.stream, idx, lead->augment, static_cast<uint64_t>(lead->seed), epoch, device);
  });
}

bool Cohort::start_epoch() {
  // Epochs are a pure function of (seed, epoch), so a model resumed later joins at its epoch.
  for (; epoch_ < stop(); ++epoch_) {
    active_.clear();
    for (size_t i = 0; i < models_.size(); ++i)
      if (failures_[i].empty() && models_[i]->first_epoch() <= epoch_ && epoch_ < models_[i]->stop())
        active_.push_back(models_[i].get());
    if (!active_.empty()) break;
  }
  if (active_.empty()) return false;
  update_preludes();
  epoch_start_ = std::chrono::steady_clock::now();
  plan_ = make_epoch_plan(view_, shape_, aug_, lead_.seed, epoch_);
  for (auto* m : active_) m->begin_epoch(epoch_);
  if (path_ != StepPath::host) {
    if (active_ != stepping_) make_device_step();
    device_step_->begin_epoch(plan_, epoch_);
  }
  // Streamed images: the next step's are decoded on a host thread while this step trains.
  order_cpu_ = lead_.data.train.stream ? plan_.order.to(torch::kCPU) : torch::Tensor();
  if (lead_.data.train.stream && !device_step_ && shape_.steps > 0) ahead_ = decode_ahead(0);
  step_ = 0;
  in_epoch_ = true;
  return true;
}

void Cohort::make_device_step() {
  if (device_step_ && path_ == StepPath::graph) spdlog::info("the group changed at epoch {}: capturing its step again", epoch_ + 1);
  // Each model's step is wrapped: one that throws is recorded (advance stops it) and the others'
  // steps still run, inside a capture too.
  std::vector<ModelStep> steps;
  step_errors_.assign(active_.size(), nullptr);
  for (size_t i = 0; i < active_.size(); ++i)
    steps.push_back([this, m = active_[i], i](const StepBatch& b) {
      try {
        return m->step(b);
      } catch (...) {
        step_errors_[i] = std::current_exception();
        return StepOutputs{};
      }
    });
  device_step_.reset();
  device_step_ = std::make_unique<DeviceStep>(
      DeviceStep::Shared{lead_.data.train.images, lead_.data.train.labels, precision_.channels_last, lead_.seed},
      active_preludes_, std::move(steps), shape_, aug_, normalise_, path_ == StepPath::graph);
  stepping_ = active_;
}

std::string failure_line(const std::string& tag, const std::string& verb) {
  std::string what;
  try {
    throw;
  } catch (const Error& e) {  // user-facing (a non-finite loss), or internal: its words say which
    what = e.what();
  } catch (...) {
    what = verb + ": " + system::describe_current_failure();
  }
  // Its tag names it where the message does not already start with it.
  const std::string line = tag.empty() || what.rfind(tag, 0) == 0 ? what : tag + what;
  spdlog::error("{}; the other students train on", line);
  return line;
}

void Cohort::fail(ModelRun* m, std::exception_ptr error, bool rethrow) {
  if (rethrow) std::rethrow_exception(error);
  const size_t i = static_cast<size_t>(std::find_if(models_.begin(), models_.end(), [&](const auto& p) { return p.get() == m; }) -
                                       models_.begin());
  try {
    std::rethrow_exception(error);
  } catch (...) {
    failures_[i] = failure_line(m->tag(), "failed");
  }
  active_.erase(std::remove(active_.begin(), active_.end(), m), active_.end());
  update_preludes();
}

int64_t Cohort::advance(Progress* progress, bool rethrow) {
  if (finished_) return 0;
  const OwnStream::Use on_own(*stream_);
  if (!in_epoch_ && !start_epoch()) {
    finished_ = true;
    return 0;
  }
  const int64_t step = step_;
  const int64_t s = step * shape_.batch, e = std::min(shape_.usable, s + shape_.batch);
  if (device_step_) {
    if (active_ != stepping_ && !active_.empty()) {  // a model failed earlier in this epoch
      make_device_step();
      device_step_->begin_epoch(plan_, epoch_, step);
    }
    if (!active_.empty()) {
      try {
        device_step_->run(step);
      } catch (...) {
        // The shared part failed (the batch, the capture): every model of the step stops with it.
        const auto error = std::current_exception();
        for (auto* m : std::vector<ModelRun*>(active_)) fail(m, error, rethrow);
      }
      for (size_t i = 0; i < stepping_.size(); ++i) {
        auto* m = stepping_[i];
        if (step_errors_[i]) fail(m, std::exchange(step_errors_[i], nullptr), rethrow);
        else if (std::find(active_.begin(), active_.end(), m) != active_.end()) run_host_part(m, step, device_step_->outputs(i), e - s, rethrow);
      }
    }
  } else {
    std::optional<data::StreamedBatch> decoded;
    if (ahead_.valid()) {
      decoded = ahead_.get();
      if (step + 1 < shape_.steps) ahead_ = decode_ahead(step + 1);
    }
    const auto [begin, end] = rank_part(step);
    const StepBatch batch = make_batch(lead_, precision_, plan_, shape_, aug_, normalise_, begin, end, epoch_, step, e - s,
                                       decoded ? &*decoded : nullptr);
    // What the models' losses share of the batch (a teacher's forward) first; its failure stops them all.
    try {
      for (const auto& p : active_preludes_) p->run(batch.x);
    } catch (...) {
      const auto error = std::current_exception();
      for (auto* m : std::vector<ModelRun*>(active_)) fail(m, error, rethrow);
    }
    for (auto* m : std::vector<ModelRun*>(active_)) {
      StepOutputs out;
      try {
        out = m->step(batch);
      } catch (...) {
        fail(m, std::current_exception(), rethrow);
        continue;
      }
      run_host_part(m, step, out, end - begin, rethrow);
    }
  }
  if (active_.empty()) {  // every model failed: the cohort is done
    if (progress) progress->end_epoch();
    in_epoch_ = false;
    finished_ = true;
    return e - s;
  }
  if (progress && lead_.show_progress) progress->step(epoch_, step, e - s, [&] { return active_.front()->loss_so_far(e); });
  if (++step_ == shape_.steps) {
    if (progress) progress->end_epoch();
    finish_epoch(rethrow);
  }
  return e - s;
}

void Cohort::run_host_part(ModelRun* m, int64_t step, const StepOutputs& out, int64_t samples, bool rethrow) {
  try {
    m->after_step(step, out, samples);
  } catch (...) {
    fail(m, std::current_exception(), rethrow);
  }
}

void Cohort::finish_epoch(bool rethrow) {
  stream_->synchronize();  // the epoch's GPU work is done (the other cohorts' streams run on)
  const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
  for (size_t i = 0; i < models_.size(); ++i) {
    auto* m = models_[i].get();
    if (std::find(active_.begin(), active_.end(), m) == active_.end()) continue;
    try {
      m->end_epoch(epoch_, train_seconds);
    } catch (...) {
      // Alone: as always. In a group: the others train on; this one is reported at the end.
      fail(m, std::current_exception(), rethrow);
    }
  }
  in_epoch_ = false;
  ++epoch_;
  finished_ = epoch_ >= stop();
}

std::vector<TrainResult> Cohort::results() {
  const OwnStream::Use on_own(*stream_);
  std::vector<TrainResult> out;
  for (size_t i = 0; i < models_.size(); ++i) {
    out.push_back(failures_[i].empty() ? models_[i]->finish() : TrainResult{});
    out.back().error = failures_[i];
  }
  return out;
}

}  // namespace kdprune::train
