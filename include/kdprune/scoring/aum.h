#pragma once
// AUM as the CCS and D2 reference code computes it for their cut-off of likely mislabeled samples
// (haizhongzheng/Coverage-centric-coreset-selection generate_importance_score.py and
// adymaharana/d2pruning generate_importance_score.py): per presentation in training, the softmax
// probability of the true class minus the largest other probability, accumulated over training.
// A trainer observer (one softmax per batch, no extra passes). Low AUM = likely mislabeled.
#include <torch/torch.h>

#include "kdprune/train/trainer.h"

namespace kdprune::prune {

class ProbabilityMarginAum : public train::TrainObserver {
 public:
  ProbabilityMarginAum(int64_t n, const torch::Device& device);
  void on_step(const train::StepRecord& r) override;
  // Adds one presentation of each sample in `indices` (exposed for tests).
  void record(const torch::Tensor& indices, const torch::Tensor& logits, const torch::Tensor& labels);
  // The mean margin over each sample's presentations (the reference's sum divided by the number
  // of presentations, which is the same for every sample, so the ranking is the reference's);
  // NaN for samples never presented.
  torch::Tensor aum() const;

 private:
  torch::Tensor sum_, count_;  // float64, int64
};

}  // namespace kdprune::prune
