#pragma once
// Distillation terms (a registry by name) and the weighted student objective.
#include <memory>
#include <string>
#include <vector>

#include "kdprune/config/config.h"
#include "kdprune/models/model.h"

namespace kdprune::losses {

// Vanilla KD (Hinton): τ² · Σ_classes p_t (log p_t − log p_s), averaged over the batch
// ("batchmean"), with p = softmax(z/τ). Computed in float32.
torch::Tensor kd_kl(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits, double tau);

// A term comparing student and teacher outputs on the same batch (logits now; stage features for
// the feature losses later).
class DistillTerm {
 public:
  virtual ~DistillTerm() = default;
  virtual torch::Tensor operator()(const models::ModelOutput& student, const models::ModelOutput& teacher,
                                   const torch::Tensor& labels) = 0;
};

struct KdLossEntry {
  std::string name;
  std::string description;
  std::unique_ptr<DistillTerm> (*create)(const KdSection& kd);
};
const std::vector<KdLossEntry>& kd_loss_registry();
// Throws kdprune::Error for an unknown name (`key` names the config key in the message).
std::unique_ptr<DistillTerm> create_kd_loss(const std::string& name, const KdSection& kd, const std::string& key);

// The weights of the objective: w_ce·CE + w_kd·KD + w_extra·extra.
struct LossWeights {
  double ce = 1, kd = 0, extra = 0;
};
// convex: ((1−α), α, 0); repdistiller: (γ, α, β).
LossWeights loss_weights(const KdSection& kd, double alpha);

// Combines the terms; a zero weight contributes nothing (so α = 0 is exactly cross-entropy).
torch::Tensor combine(const LossWeights& w, const torch::Tensor& ce, const torch::Tensor& kd, const torch::Tensor& extra);

}  // namespace kdprune::losses
