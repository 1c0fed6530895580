#pragma once
// One model's training inside fit()/fit_group(): its optimizer, loss scale, checkpoint and resume,
// its step (the one routine, step_routine.h, with the update rule of its path), and the
// end-of-epoch check, evaluation, metrics row and checkpoint. The loop that feeds it batches lives
// in cohort.cpp; a cohort's models share each batch.
#include <chrono>
#include <memory>

#include "kdprune/train/checkpoint.h"
#include "kdprune/train/precision.h"
#include "kdprune/train/trainer.h"
#include "step_routine.h"

namespace kdprune::train {

class RankSync;

// `decoded`: a streamed dataset's uint8 images of these samples, decoded ahead (cohort.cpp);
// undefined: indexed from the dataset (or, streamed, decoded now). [begin, end): the samples'
// range in the epoch's order; `step_samples`: the step's samples over all ranks.
StepBatch make_batch(const TrainInputs& in, const Precision& precision, const EpochPlan& plan, const EpochShape& shape,
                     const AugmentSpec& aug, const data::Normalizer& normalise, int64_t begin, int64_t end, int64_t epoch,
                     int64_t step, int64_t step_samples, const data::StreamedBatch* decoded = nullptr);

// Where a cohort's batch is made and how its step runs: on the host, one step at a time
// (torch::optim::SGD, fp16 loss scaling, data-parallel reduction); indexed on the device and run
// eagerly; or that device step captured as a CUDA graph.
enum class StepPath { host, device, graph };

// The path a model can take on its own (train.cuda_graph, the device, amp, the loss); `on` where
// a graph is impossible is an Error that gives the reason.
StepPath step_path(const TrainInputs& in, const Precision& precision, bool cuda);
// Why a model's step is not captured ("" when it can be).
std::string step_path_reason(const TrainInputs& in, const Precision& precision, bool cuda);
// The path every model of a cohort can take: the host if any needs it, else the device path,
// else the graph.
StepPath common_path(const std::vector<StepPath>& paths);

class ModelRun {
 public:
  // `path`: the path its cohort takes (fit_group decides it for all its models).
  ModelRun(const TrainInputs& in, const EpochShape& shape, const Precision& precision, StepPath path, const std::string& tag);
  ~ModelRun();
  ModelRun(const ModelRun&) = delete;
  ModelRun& operator=(const ModelRun&) = delete;

  int64_t first_epoch() const { return state_.epochs_done; }
  int64_t stop() const { return stop_; }
  const std::string& tag() const { return tag_; }

  void begin_epoch(int64_t epoch);
  // The training step on a batch: device work only (a CUDA graph records it once and replays it).
  StepOutputs step(const StepBatch& batch);
  // After each step, on the host (never captured): observers, this process's sample count, and
  // every TrainInputs::log_every_steps global steps a step row (it reads the loss: a device sync).
  void after_step(int64_t step, const StepOutputs& out, int64_t samples);
  double loss_so_far(int64_t samples) const;  // syncs: for the progress line only
  void end_epoch(int64_t epoch, double train_seconds);
  TrainResult finish();

 private:
  void save(int64_t epochs_done);
  void log_step(int64_t step);
  // Evaluates at an evaluation epoch (validation set and/or test split), keeps the best; fills the
  // row's evaluation fields and returns the log line's evaluation part.
  std::string evaluate_epoch(int64_t epoch, bool last, std::vector<std::string>& row);
  bool writes() const;  // this process writes checkpoints and metrics (rank 0, or not data-parallel)

  const TrainInputs in_;  // a copy: what it refers to (model, data, view) outlives fit_group
  Precision precision_;
  std::string tag_;  // "" alone; the run's name in a group's log lines
  EpochShape shape_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::SGD> opt_;
  std::unique_ptr<GradScaler> scaler_;
  std::unique_ptr<RankSync> sync_;  // data-parallel and not alone (Collective::alone); else null
  std::unique_ptr<UpdateRule> update_;
  EpochTotals totals_;
  torch::Tensor val_;         // the validation samples (TrainInputs::validation) on the device; undefined without
  double best_score_ = 0;     // the best top-1 that chooses the best epoch: validation's, else test's
  // Step rows: the running loss sum at this epoch's last row (0 before it), the step after it, and
  // when (the epoch's start before it); the steps of earlier epochs since the last row (their
  // loss sum, samples, training seconds: the row after an epoch's end covers them too).
  double row_loss_ = 0;
  int64_t row_from_ = 0;
  std::chrono::steady_clock::time_point row_time_, epoch_begin_;
  double carry_loss_ = 0;
  int64_t carry_samples_ = 0;
  double carry_seconds_ = 0;
  int64_t epoch_ = 0;
  int64_t epoch_samples_ = 0;  // this process's samples of the epoch so far
  TrainState state_;
  TrainResult result_;
  int64_t stop_ = 0;
  double train_time_ = 0;
  int64_t trained_images_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace kdprune::train
