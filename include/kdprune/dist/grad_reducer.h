#pragma once
// Data-parallel gradient averaging in buckets, as PyTorch DDP's Reducer does it: the parameters
// are grouped into buckets in reverse order (the order backward produces their gradients), each
// gradient is copied into its bucket as autograd hands it over, and a full bucket's sum over ranks
// starts at once, on the backend's own thread, while backward computes the rest. finish() starts
// whatever is left, waits, and writes the averages into the parameters' .grad.
//
// Buckets start strictly in bucket order on every rank (a bucket that fills early waits for the
// ones before it), so the ranks' collectives always match. A gradient a rank did not produce
// (a parameter its step did not use) counts as zero, and every rank gets the average's .grad.
#include <torch/torch.h>

#include <cstdint>
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

  // Before a step's backward: the gradients it produces are this step's. Hooks that fire outside
  // prepare() ... finish() do nothing.
  void prepare();
  // After backward: every parameter's .grad is the mean over ranks of its gradient.
  void finish();

  size_t buckets() const { return buckets_.size(); }
  int64_t started_during_backward() const { return started_early_; }  // buckets, over all steps so far

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into params_
    torch::Tensor flat;          // their gradients, one after another
    std::vector<torch::Tensor> views;  // flat's piece for each, shaped as the parameter
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
  std::vector<unsigned> hooks_;
  bool overlap_ = true;
  bool armed_ = false;
  size_t next_ = 0;  // the next bucket to start
  int64_t started_early_ = 0;
};

}  // namespace kdprune::dist
