#pragma once
// One model's training inside fit()/fit_group(): its optimizer, loss scale, checkpoint and resume,
// the update on a batch, and the end-of-epoch check, evaluation, metrics row and checkpoint.
// The loop that feeds it batches lives in trainer.cpp; a group's models share each batch.
#include <chrono>
#include <memory>

#include "kdprune/dist/grad_reducer.h"
#include "kdprune/train/checkpoint.h"
#include "kdprune/train/device_step.h"
#include "kdprune/train/precision.h"
#include "kdprune/train/trainer.h"

namespace kdprune::train {

// One step's batch: made once, shared by a group's models.
struct Batch {
  torch::Tensor indices, positions, x, labels;
  int64_t begin = 0, end = 0;  // the samples' range in the epoch's order
  int64_t step_size = 0;       // data-parallel: the samples of this step over all ranks
};

// `decoded`: a streamed dataset's uint8 images of these samples, decoded ahead (trainer.cpp);
// undefined: indexed from the dataset (or, streamed, decoded now).
Batch make_batch(const TrainInputs& in, const EpochPlan& plan, const AugmentSpec& aug, const data::Normalizer& normalise,
                 int64_t begin, int64_t end, int64_t epoch = 0, const data::StreamedBatch* decoded = nullptr);

// How a model's steps run: the standard step (a host-side batch, torch::optim::SGD, fp16 loss
// scaling), the device-indexed step (DeviceStep) run eagerly, or that step captured as a CUDA graph.
enum class StepPath { standard, device, graph };

// The path a model can take on its own (train.cuda_graph, the device, amp, the loss); `on` where
// a graph is impossible is an Error that gives the reason.
StepPath step_path(const TrainInputs& in, bool cuda);

class ModelRun {
 public:
  // `path`: the path its group takes (fit_group decides it for all its models).
  ModelRun(const TrainInputs& in, const EpochShape& shape, StepPath path, const std::string& tag);
  ~ModelRun();
  ModelRun(const ModelRun&) = delete;
  ModelRun& operator=(const ModelRun&) = delete;

  int64_t first_epoch() const { return state_.epochs_done; }
  int64_t stop() const { return stop_; }
  DeviceUpdate* device_update() { return update_.get(); }  // null on the standard path

  void begin_epoch(int64_t epoch);
  void after_device_step(int64_t step, const StepOutputs& out);  // the device path: observers
  void step(const Batch& batch, int64_t epoch, int64_t step);    // the standard path
  double loss_so_far(int64_t samples) const;                 // syncs: for the progress line only
  void end_epoch(int64_t epoch, double train_seconds);
  TrainResult finish();

 private:
  void observe(int64_t epoch, int64_t step, const StepOutputs& out);
  void save(int64_t epochs_done);
  bool writes() const;  // this process writes checkpoints and metrics (rank 0, or not data-parallel)
  void reduce_totals(EpochTotals& totals);  // data-parallel: the epoch's totals over all ranks
  std::vector<torch::Tensor> rank0_buffers() const;  // data-parallel: the buffers that follow rank 0's

  const TrainInputs& in_;
  dist::Collective* collective_;  // null unless data-parallel and not alone (Collective::alone)
  std::unique_ptr<dist::GradReducer> reducer_;  // data-parallel: averages the gradients during backward
  EpochShape shape_;
  std::string tag_;  // "" alone; the run's name in a group's log lines
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::SGD> opt_;
  std::unique_ptr<GradScaler> scaler_;
  std::unique_ptr<DeviceUpdate> update_;  // the device path's update, totals and learning rates
  EpochTotals totals_;
  std::vector<double> lr_;  // this run's learning rate per step of the current epoch
  int64_t epoch_ = 0;
  int64_t epoch_samples_ = 0;  // this process's samples of the epoch so far (standard path)
  int64_t synced_bn_ = 0;      // BatchNorm layers normalising over all ranks (train.sync_batchnorm)
  TrainState state_;
  TrainResult result_;
  int64_t stop_ = 0;
  double train_time_ = 0;
  int64_t trained_images_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace kdprune::train
