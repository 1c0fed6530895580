#pragma once
// The one training loop. Teacher, student and scoring runs differ only in the loss and the
// observers they pass here; subsets of the data are index views.
#include <functional>
#include <string>
#include <vector>

#include "kdprune/config/config.h"
#include "kdprune/data/tensor_dataset.h"
#include "kdprune/models/model.h"
#include "kdprune/train/epoch_plan.h"
#include "kdprune/train/precision.h"

namespace kdprune::io {
class MetricsLog;
}
namespace kdprune::dist {
class Collective;
}

namespace kdprune::train {

struct EvalResult {
  double loss = 0, top1 = 0, top5 = 0;  // accuracies in percent
  int64_t samples = 0;
  std::vector<double> per_class_top1;  // percent; NaN for a class absent from the split
};

struct TrainResult {
  EvalResult final_eval;  // the final model on the test split
  // The best epoch: by test top-1 over the evaluated epochs (RepDistiller), or, with a validation
  // set (TrainInputs::validation), by validation top-1: then best_val_top1 is that, and best_top1
  // (the test top-1 of the chosen epoch's model) is filled by the caller, who evaluates best.pt.
  double best_top1 = 0;
  int64_t best_epoch = -1;
  bool best_by_val = false;
  double best_val_top1 = 0;
  EvalResult final_val;  // with a validation set: the final model on it
  double images_per_second = 0;  // training throughput over the epochs run in this process
  std::vector<double> epoch_images_per_second;  // per epoch run in this process (benchmarks)
  std::vector<double> epoch_train_loss;         // per epoch run in this process
  double train_seconds = 0;
  int64_t epochs = 0;
  int64_t resumed_from = 0;  // epochs already done when this process started
  std::string error;         // fit_group: why this model stopped (a non-finite loss); "" = trained
};

// What an observer sees after each optimisation step (tensors detached, on the device).
struct StepRecord {
  int64_t epoch, step;           // 0-based
  const torch::Tensor& indices;  // dataset indices of the batch's samples
  const torch::Tensor& logits;   // as trained on (augmented view)
  const torch::Tensor& labels;
};

// Hooks into the loop: forgetting counts, training dynamics, ... (see the pruning issues).
class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void on_step(const StepRecord&) {}
  virtual void on_epoch_end(int64_t /*epoch*/) {}
};

// Where a batch sits in the run, for losses that keep per-sample state (CRD's memory) or draw
// per-step randomness (CRD's negatives) reproducibly, resumed runs included.
// A step captured as a CUDA graph runs its host code once, at capture, and replays only kernels:
// the host values (epoch, step, rng_seed) are then frozen at the capture's, so a term that may be
// captured (DistillTerm::capturable, TrainInputs::loss_capturable) reads the step and its seed from
// the device tensors, which every replay advances. Eager steps fill both, with equal values.
struct BatchInfo {
  const torch::Tensor& positions;  // the samples' positions in the training view (0..view_size-1), int64
  int64_t epoch = 0, step = 0;     // 0-based; host values (see above)
  int64_t view_size = 0;
  uint64_t rng_seed = 0;  // a seed for this step's randomness: a pure function of (run seed, epoch, step); host value
  torch::Tensor step_index{};  // int64 scalar on the batch's device: `step`, read by kernels
  torch::Tensor seed{};        // int64 scalar on the batch's device: `rng_seed`'s bits, read by kernels
};

// loss(x, output, labels, batch): x is the augmented, normalised batch (a KD loss runs its teacher on it).
using LossFn = std::function<torch::Tensor(const torch::Tensor& x, const models::ModelOutput& out, const torch::Tensor& y,
                                           const BatchInfo& batch)>;
torch::Tensor cross_entropy_loss(const torch::Tensor& x, const models::ModelOutput& out, const torch::Tensor& y,
                                 const BatchInfo& batch);

// Work on a step's batch that models of a cohort read in their losses (a KD teacher's forward):
// run once per step on the batch `x`, issued before the models' steps (on a GPU on a high-priority
// stream of its own; each loss that reads it waits for it alone). Runs that hold the same prelude
// and share a cohort run it once.
class BatchPrelude {
 public:
  virtual ~BatchPrelude() = default;
  virtual void run(const torch::Tensor& x) = 0;
};

struct TrainInputs {
  models::ModelImpl& model;
  const data::TensorDataset& data;
  const std::vector<int64_t>& indices;  // the training view
  TrainSection train;  // amp/channels_last=auto: fit_group resolves them for the data's device (resolved_precision), leaving this as asked
  bool augment = true;
  int64_t seed = 0;
  io::MetricsLog* metrics = nullptr;      // one row per epoch (metrics_columns()): csv, jsonl, TensorBoard
  // > 0: every this many global steps (counted from epoch 1's first step) a step row in `metrics`
  // (MetricsLog::append_step): the mean loss of the epoch's steps since the last row, the lr, images/s.
  int64_t log_every_steps = 0;
  // Training samples held out of `indices` (data.val_split): evaluated at each evaluation epoch
  // (metrics_columns(true): val_loss, val_top1), and the best epoch (on_best) is chosen by their
  // top-1; the test split is then evaluated for the final model only. Empty: the test split chooses.
  std::vector<int64_t> validation{};
  std::string checkpoint_path{};          // "" = no checkpoints
  bool resume = false;                    // continue from checkpoint_path if it exists
  LossFn loss = cross_entropy_loss;
  std::shared_ptr<BatchPrelude> prelude{};  // what `loss` reads of each batch, made first; may be null
  // Modules the loss trains with the student (a feature-KD term's regressors): in the optimizer,
  // train mode and the checkpoint, never in model.pt.
  std::shared_ptr<torch::nn::Module> loss_modules{};
  // The model parameters to train; empty = all (an init stage trains the feature layers only).
  std::vector<torch::Tensor> parameters{};
  // The model runs in eval mode, without gradients, and trains none of its parameters: an init
  // stage that trains only a loss's modules (FT's paraphraser on the teacher's features).
  bool freeze_model = false;
  std::vector<TrainObserver*> observers{};
  bool show_progress = true;
  // Stop after this many epochs of the train.epochs schedule (scoring runs take an early epoch of
  // a longer run, e.g. epoch 20 of 200); -1 = the whole schedule.
  int64_t stop_epoch = -1;
  // Called after an evaluation that beats every earlier one (e.g. to keep best.pt).
  std::function<void(int64_t epoch)> on_best{};
  // The loss is a pure function of the batch (no per-step host state or host syncs; per-step values
  // read from BatchInfo's device tensors), so the step can be captured as a CUDA graph
  // (train.cuda_graph). Opt-in: CRD's sampling, for one, is not.
  bool loss_capturable = false;
  // Run the device-indexed step that a CUDA graph captures, eagerly, on any device (tests compare
  // it with the standard step on the CPU). CUDA graphs imply it.
  bool device_step = false;
  // Follow the free cores on a shared CPU (system/cpu_share.h): between 1 and the configured threads.
  bool adapt_threads = false;
  // Data-parallel training (null or a world of 1: none). train.batch_size is per rank: each step
  // takes the next world × batch_size samples of the epoch's order, rank r the r-th of W equal
  // parts; gradients are averaged weighted by the parts' sizes (so W ranks × B train as one × W·B
  // on a model without batch statistics), BatchNorm buffers follow rank 0 (broadcast each step, as
  // PyTorch's DDP does), totals and evaluation (test set split over ranks) are reduced, and only
  // rank 0 writes checkpoints and metrics. One model per process, standard step, no observers.
  dist::Collective* collective = nullptr;
};

// The epoch rows' columns; `validation`: with val_loss and val_top1 after train_acc.
std::vector<std::string> metrics_columns(bool validation = false);

// `collective`: each rank evaluates its part of the split, and the sums are reduced (all ranks get
// the whole result).
EvalResult evaluate(models::ModelImpl& model, const data::TensorSplit& split, const data::DatasetInfo& info,
                    int64_t batch_size, Autocast amp = Autocast::off, bool channels_last = false,
                    dist::Collective* collective = nullptr);
// The same on samples `samples` (int64 indices into `split`, on its device) without augmentation:
// a validation set held out of the training split.
EvalResult evaluate(models::ModelImpl& model, const data::TensorSplit& split, const torch::Tensor& samples,
                    const data::DatasetInfo& info, int64_t batch_size, Autocast amp = Autocast::off,
                    bool channels_last = false, dist::Collective* collective = nullptr);

// Trains; throws kdprune::Error (naming epoch and step) on a non-finite loss, leaving the last
// good checkpoint in place.
TrainResult fit(const TrainInputs& in);

// Trains several models in one process, each exactly as fit() alone would train it (its batches
// are a pure function of its seed, view and epoch), with its own loss, optimizer, checkpoint,
// metrics and evaluation. Models that share the dataset, training view, batch size, seed,
// augmentation, amp and layout form a cohort: one batch (gather, augmentation) per step, shared,
// and a KD loss built with a shared TeacherCache (their prelude) runs the teacher once per step for
// all of them, before their forwards.
// Models of different views, seeds or batch sizes (an α × f × seed grid) form cohorts of their
// own, stepped in turn, each through its own epochs, in proportion to their steps to go (a view a
// tenth the size steps every tenth turn), so all end together; on a GPU each cohort has a stream
// of its own, so the cohorts' steps run side by side. Schedules and epochs may differ.
// All models share one device.
// On CUDA each cohort's step is one CUDA graph (train.cuda_graph) when every model's can be
// captured, each model on a stream of its own inside it. A model whose loss turns non-finite
// stops with TrainResult::error set (its last good checkpoint kept); the others go on.
// `names` tag the log lines.
std::vector<TrainResult> fit_group(const std::vector<TrainInputs>& runs, const std::vector<std::string>& names = {});

}  // namespace kdprune::train
