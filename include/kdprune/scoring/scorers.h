#pragma once
// Per-sample pruning scores (higher = harder / more important), computed from training runs and
// model outputs. Each scorer is a pure computation on tensors, tested against hand-made cases;
// `kdprune score` (src/commands/score.cpp) trains the models and calls them.
#include <torch/torch.h>

#include "kdprune/train/trainer.h"

namespace kdprune::prune {

// Forgetting events (Toneva et al.): counts acc_i(t-1) = 1 -> acc_i(t) = 0 transitions between
// consecutive presentations of sample i, as trained on (augmented view). Lives inside the training
// loop as an observer: one argmax per batch, no extra passes.
class ForgettingCounter : public train::TrainObserver {
 public:
  ForgettingCounter(int64_t n, const torch::Device& device);
  void on_step(const train::StepRecord& r) override;
  // Records the correctness of one presentation of each sample in `indices` (exposed for tests).
  void record(const torch::Tensor& indices, const torch::Tensor& correct);
  // Event counts; a sample never classified correctly scores its number of presentations, as
  // Toneva et al.'s sort_examples_by_forgetting (mtoneva/example_forgetting): above every learned
  // sample (k events need 2k presentations), and means over models rank as the reference's sums.
  torch::Tensor scores() const;
  torch::Tensor events() const { return events_; }
  torch::Tensor ever_learned() const { return learned_; }

 private:
  torch::Tensor last_;     // int8: -1 never presented, 0 wrong, 1 right at the last presentation
  torch::Tensor events_;   // int64 counts
  torch::Tensor learned_;  // bool
  torch::Tensor presented_;  // int64: presentations so far
};

// EL2N: ||softmax(logits) - onehot(y)||_2 per sample.
torch::Tensor el2n_from_logits(const torch::Tensor& logits, const torch::Tensor& labels);

// GraNd restricted to the last linear layer (DeepCore): with e = softmax - onehot and embedding h,
// the gradient of CE w.r.t. (W, b) is (e h^T, e), so its norm is ||e||_2 * sqrt(||h||_2^2 + 1).
torch::Tensor grand_last_layer(const torch::Tensor& logits, const torch::Tensor& embedding, const torch::Tensor& labels);

// GraNd over all parameters: the true per-sample gradient norm of CE, one backward per sample
// (slow; the validation reference).
torch::Tensor grand_full(models::ModelImpl& model, const torch::Tensor& x, const torch::Tensor& labels);

// Moderate (Xia et al.): Euclidean distance of each embedding to its class's coordinate-wise
// median embedding (tmllab/Moderate-DS `get_median`: np.median over the class's rows).
torch::Tensor class_median_distance(const torch::Tensor& embedding, const torch::Tensor& labels, int64_t classes);

}  // namespace kdprune::prune
