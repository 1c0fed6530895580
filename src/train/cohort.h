#pragma once
// The models of a group (train::fit_group) that see the same batches: one dataset, training view,
// batch size, seed, augmentation, amp and layout. A cohort makes each step's batch once (and its
// KD students share one teacher forward on it, issued first); on CUDA its step is one CUDA graph. A
// group of several cohorts (students of different f, subsets or seeds) steps them in turn, each
// through its own epochs, in proportion to their lengths (fit_group): all of them end their last
// epoch together. On CUDA each cohort issues its work on a stream of its own, so they run side by side.
#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "device_step.h"
#include "kdprune/train/cuda_graph.h"
#include "kdprune/train/trainer.h"
#include "model_run.h"

namespace kdprune::train {

class Progress;

// Inside a catch block: one line for the failure in flight (kdprune's errors as they are, any other
// as "<verb>: <what>"), tagged with the run's `tag`, and logged.
std::string failure_line(const std::string& tag, const std::string& verb);

// Runs that can share every batch (given the precision each trains in).
bool same_batches(const TrainInputs& a, const Precision& pa, const TrainInputs& b, const Precision& pb);

class Cohort {
 public:
  // `members`: the runs' positions in the group; `tags` their log tags ("" alone); `precision`
  // what they train in; `path` the cohort's step path; `collective`: data-parallel (one model per
  // process).
  // `rethrow`: a model that cannot start throws (a group of one); else it is a failure of its own.
  Cohort(const std::vector<TrainInputs>& runs, std::vector<size_t> members, const std::vector<std::string>& tags,
         const Precision& precision, StepPath path, dist::Collective* collective, bool rethrow);
  ~Cohort();
  Cohort(const Cohort&) = delete;
  Cohort& operator=(const Cohort&) = delete;

  bool finished() const { return finished_; }
  int64_t steps_left() const;  // upper bound on the steps this cohort still trains
  const EpochShape& shape() const { return shape_; }
  StepPath path() const { return path_; }
  int64_t first_epoch() const;
  int64_t epoch() const { return epoch_; }  // the epoch it is in, or starts next
  int64_t step() const { return in_epoch_ ? step_ : 0; }  // its next step in that epoch
  int64_t stop() const;
  const std::vector<size_t>& members() const { return members_; }
  size_t size() const { return members_.size(); }

  // Trains the next step (starting an epoch before its first step, ending it after its last);
  // returns the step's samples (0 when nothing was left). `progress`: the group's progress line
  // follows this cohort. `rethrow`: a model's failure is thrown as it is (a group of one); else a
  // model that fails (any exception, in its step or at an epoch end) stops with its error named
  // by its tag, and the others go on.
  int64_t advance(Progress* progress, bool rethrow);
  // The members' results, by member order (a failed model: empty result with `error`).
  std::vector<TrainResult> results();

 private:
  bool start_epoch();  // false: no epoch left
  void finish_epoch(bool rethrow);
  void make_device_step();
  void run_host_part(ModelRun* m, int64_t step, const StepOutputs& out, int64_t samples, bool rethrow);
  // Records model `m`'s failure (or rethrows it, alone) and takes it out of the epoch.
  void fail(ModelRun* m, std::exception_ptr error, bool rethrow);
  std::pair<int64_t, int64_t> rank_part(int64_t step) const;
  // Sets active_preludes_ from active_ (called wherever active_ changes).
  void update_preludes();
  std::future<data::StreamedBatch> decode_ahead(int64_t step);

  const TrainInputs lead_;  // a copy: the cohort's data, view and seed
  std::vector<size_t> members_;
  dist::Collective* collective_;
  int64_t world_ = 1, rank_ = 0;
  torch::Device device_;
  torch::Tensor view_;
  EpochShape shape_;
  AugmentSpec aug_;
  data::Normalizer normalise_;
  Precision precision_;
  StepPath path_;
  // On a GPU all of the cohort's work runs on this stream (its models were made on it too), so
  // the group's cohorts run side by side; the host waits for it alone at the cohort's epoch ends.
  std::unique_ptr<OwnStream> stream_;
  std::vector<std::unique_ptr<ModelRun>> models_;
  std::vector<std::shared_ptr<BatchPrelude>> preludes_;  // per model (TrainInputs::prelude)
  std::vector<std::string> failures_;
  // The device path's step for the models it was made for: a model that stops or joins later
  // changes the set, and the step (with its graph) is made again.
  std::unique_ptr<DeviceStep> device_step_;
  std::vector<ModelRun*> active_, stepping_;
  std::vector<std::shared_ptr<BatchPrelude>> active_preludes_;  // the active models' distinct preludes, in member order
  std::vector<std::exception_ptr> step_errors_;  // per model of stepping_: its step threw (device path)
  EpochPlan plan_;
  torch::Tensor order_cpu_;                  // streamed images: the epoch's order on the host
  std::future<data::StreamedBatch> ahead_;  // streamed images: the next step's, decoding
  int64_t epoch_ = 0, step_ = 0;
  bool in_epoch_ = false, finished_ = false;
  std::chrono::steady_clock::time_point epoch_start_;
};

}  // namespace kdprune::train
