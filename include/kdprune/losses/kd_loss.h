#pragma once
// Distillation terms (a registry by name) and the weighted student objective.
#include <memory>
#include <string>
#include <vector>

#include "kdprune/config/config.h"
#include "kdprune/models/model.h"
#include "kdprune/train/trainer.h"

namespace kdprune::losses {

// Vanilla KD (Hinton): τ² · Σ_classes p_t (log p_t − log p_s), averaged over the batch
// ("batchmean"), with p = softmax(z/τ). Computed in float32.
torch::Tensor kd_kl(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits, double tau);

// A term comparing student and teacher outputs on the same batch: logits, the stage features
// (ModelOutput::features = RepDistiller's feat[0..k-1]: stem, stage 1..k) and the embedding
// before the classifier (RepDistiller's feat[-1]).
class DistillTerm {
 public:
  virtual ~DistillTerm() = default;
  virtual torch::Tensor operator()(const models::ModelOutput& student, const models::ModelOutput& teacher,
                                   const torch::Tensor& labels) = 0;
  // Modules the term trains (regressors, embeddings): they join the student's optimizer and its
  // checkpoint, and train() with it; nullptr if none.
  virtual std::shared_ptr<torch::nn::Module> trainable() { return nullptr; }
  // Called with each training batch before the term (CRD: which samples, this step's randomness).
  virtual void on_batch(const train::BatchInfo& /*batch*/) {}
  // Opt-in: the term is a pure function of the batch on the device (no per-step host state, no
  // host sync), so the training step can be captured as a CUDA graph. A captured step runs the
  // term's host code once, at capture: per-step values must come from BatchInfo's device tensors
  // (step_index, seed), never from its host fields, which stay at the capture's values.
  virtual bool capturable() const { return false; }
  // Terms that RepDistiller trains in an init stage before the main training (FSP, AB, FT;
  // helper/pretrain.py): the loss of that stage and what it trains.
  virtual bool has_init_stage() const { return false; }
  virtual torch::Tensor init_loss(const models::ModelOutput& /*student*/, const models::ModelOutput& /*teacher*/) {
    return {};
  }
  struct InitStage {
    bool trains_student = true;  // the student's feature layers (all but the classifier): FSP, AB
    bool preact = false;         // student and teacher give pre-activation features (AB)
    // Modules of the term trained in the stage (AB's connectors, FT's paraphraser); may be null.
    std::shared_ptr<torch::nn::Module> modules;
    double lr = 0;  // 0: train.lr
  };
  virtual InitStage init_stage() { return {}; }
};

// The shapes of one model's outputs on a probe batch, for terms that size their modules by them.
struct OutputShapes {
  std::vector<std::vector<int64_t>> features;  // N×C×H×W per stage
  int64_t embedding = 0;                       // width of the embedding
};
OutputShapes output_shapes(const models::ModelOutput& out);

struct TermContext {
  const KdSection& kd;
  OutputShapes student, teacher;
  std::string name;  // the loss's registry name, for messages
  torch::Tensor labels{};  // the training view's labels in view order (CRD's negatives); may be undefined
};

struct KdLossEntry {
  std::string name;
  std::string description;
  std::unique_ptr<DistillTerm> (*create)(const TermContext& ctx);
  // State of its own that steps update per sample (CRD's memory banks): data-parallel ranks would
  // update their copies apart, so such a term trains in one process only.
  bool per_sample_state = false;
};
const std::vector<KdLossEntry>& kd_loss_registry();
// The registry entry's per_sample_state; false for an unknown name or "".
bool kd_loss_keeps_state(const std::string& name);
// Throws kdprune::Error for an unknown name (`key` names the config key in the message), or when
// the student's and teacher's outputs cannot be paired as the loss needs (naming the loss and the
// layers).
std::unique_ptr<DistillTerm> create_kd_loss(const std::string& name, const TermContext& ctx, const std::string& key);

// The weights of the objective: w_ce·CE + w_kd·KD + w_extra·extra.
struct LossWeights {
  double ce = 1, kd = 0, extra = 0;
};
// convex: ((1−α), α, 0); repdistiller: (γ, α, β).
LossWeights loss_weights(const KdSection& kd, double alpha);

// Combines the terms; a zero weight contributes nothing (so α = 0 is exactly cross-entropy).
torch::Tensor combine(const LossWeights& w, const torch::Tensor& ce, const torch::Tensor& kd, const torch::Tensor& extra);

}  // namespace kdprune::losses
