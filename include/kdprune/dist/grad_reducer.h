#pragma once
// Data-parallel gradient averaging in buckets, as PyTorch DDP's Reducer does it: the parameters
// are grouped into buckets in reverse order (the order backward produces their gradients), each
// gradient is copied into its bucket as autograd hands it over, and a full bucket's sum over ranks
// starts at once, on the backend's own thread, while backward computes the rest. finish() starts
// whatever is left, waits, and writes the averages into the parameters' .grad.
//
// Buckets start strictly in bucket order on every rank (a bucket that fills early waits for the
// ones before it), so the ranks' collectives always match. Before backward, the step's autograd
// graph is walked from the loss (DDP's find_unused_parameters): a parameter it does not reach
// counts as zero at once, so its bucket need not wait for it. Each bucket also carries one flag per
// parameter, "this rank used it": a parameter some rank used gets the average as .grad on every
// rank; one no rank used keeps .grad as it was (undefined after zero_grad), as in one process, so
// SGD's weight decay and momentum leave it alone.
//
// The ranks' buckets pair with each other by order; another collective inside backward
// (SyncBatchNorm's) pairs correctly as long as the ranks' graphs are alike (the same model and
// loss on every rank, as in kdprune), not where one rank's step uses parameters another's skips.
#include <torch/csrc/autograd/edge.h>
#include <torch/torch.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "kdprune/dist/collective.h"

namespace kdprune::dist {

struct BucketSizes {
  int64_t first_bytes = 1 << 20;  // DDP's first bucket: 1 MiB, so reduction starts early
  int64_t bytes = 25 << 20;       // DDP's bucket_cap_mb = 25
};

// The buckets for `params`: indices into it, in reverse order, one dtype and device per bucket, each
// closed once it holds `first_bytes` (the first) or `bytes` (the others) or more.
std::vector<std::vector<size_t>> assign_buckets(const std::vector<torch::Tensor>& params, const BucketSizes& sizes);

class GradReducer {
 public:
  // `overlap` false: nothing starts before finish() (one reduction per bucket after backward).
  GradReducer(Collective& collective, std::vector<torch::Tensor> params, const BucketSizes& sizes, bool overlap);
  ~GradReducer();  // removes its hooks from the parameters
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // Before a step's backward from `loss`: the gradients it produces are this step's. Hooks that
  // fire outside prepare() ... finish() do nothing.
  void prepare(const torch::Tensor& loss);
  // After backward: every parameter's .grad is the mean over ranks of its gradient.
  void finish();

  size_t buckets() const { return buckets_.size(); }
  int64_t started_early() const { return started_early_; }  // buckets started before finish(), over all steps

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into params_
    torch::Tensor flat;          // their gradients, one after another, then a used flag for each
    std::vector<torch::Tensor> views;  // flat's piece for each, shaped as the parameter
    torch::Tensor used;                // flat's last params.size() values: 1 where this rank used it
    size_t pending = 0;                // gradients still to arrive this step
    Collective::Work work;
  };
  void on_grad(size_t param, const torch::Tensor& grad);
  void start_ready();  // starts the buckets, in order, that are complete
  void start(Bucket& b);

  Collective& collective_;
  std::vector<torch::Tensor> params_;
  std::vector<Bucket> buckets_;
  std::vector<std::pair<size_t, size_t>> where_;  // param -> (bucket, slot)
  std::vector<bool> arrived_;                     // param -> its gradient is in its bucket this step
  std::vector<bool> unreached_;                   // param -> the walk from this step's loss did not reach it
  std::vector<unsigned> hooks_;
  // The parameters' AccumulateGrad nodes (held, as DDP does, so they stay the ones autograd uses).
  std::vector<decltype(torch::autograd::Edge::function)> accumulators_;
  std::unordered_map<const torch::autograd::Node*, size_t> param_of_;  // accumulator -> parameter
  bool overlap_ = true;
  bool armed_ = false;
  size_t next_ = 0;  // the next bucket to start
  int64_t started_early_ = 0;
};

}  // namespace kdprune::dist
