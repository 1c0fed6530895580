#pragma once
// The training-dynamics recorder: per sample and per epoch, as presented in training (augmented
// view), the true-class probability, correctness, loss and margin (logit_y - max other logit).
// One trainer observer that forgetting, DUAL, EL2N-at-epoch and AUM-style scores read. Stored
// compactly on the training device: float16 values and uint8 correctness, [epochs, N] each
// (CIFAR: 50k x 200 epochs x 7 bytes = 70 MB). Epochs past `epochs` are not recorded.
#include <torch/torch.h>

#include "kdprune/train/trainer.h"

namespace kdprune::prune {

class DynamicsRecorder : public train::TrainObserver {
 public:
  DynamicsRecorder(int64_t n, int64_t epochs, const torch::Device& device);
  void on_step(const train::StepRecord& r) override;
  // Records one presentation of `indices` in `epoch` (0-based, as StepRecord; exposed for tests).
  void record(int64_t epoch, const torch::Tensor& indices, const torch::Tensor& logits, const torch::Tensor& labels);

  int64_t epochs() const { return prob_.size(0); }
  torch::Tensor prob() const { return prob_; }        // float16 [epochs, N], NaN where not presented
  torch::Tensor correct() const { return correct_; }  // uint8 [epochs, N]: 0 wrong, 1 right, 255 not presented
  torch::Tensor loss() const { return loss_; }        // float16 [epochs, N]
  torch::Tensor margin() const { return margin_; }    // float16 [epochs, N]

  // Forgetting events from the correctness history (one presentation per epoch); samples never
  // right score their number of presentations, as in ForgettingCounter.
  torch::Tensor forgetting_scores() const;
  // AUM (Pleiss et al.): the mean margin over the recorded epochs (low = likely mislabeled).
  torch::Tensor area_under_margin() const;

 private:
  torch::Tensor prob_, correct_, loss_, margin_;
};

// DUAL (Cho et al. 2025) from a true-class probability history p [T, N]: for every window of J
// consecutive epochs (one window of all T when T < J), v = 10 * std * (1 - mean) with the
// unbiased (n - 1) std, as the reference's torch default; the score is the mean of v over the windows. Higher = uncertain and difficult.
torch::Tensor dual_scores(const torch::Tensor& prob_history, int64_t window);

}  // namespace kdprune::prune
