#pragma once
// The student's training loss for the trainer: CE on the labels plus the distillation term(s)
// against a frozen teacher that runs in eval mode, without gradients, on the same augmented batch.
#include "kdprune/losses/kd_loss.h"
#include "kdprune/train/trainer.h"

namespace kdprune::losses {

// `teacher` may be null only when the KD and extra weights are 0 (plain training).
train::LossFn distill_objective(models::Model teacher, const KdSection& kd, double alpha, const std::string& amp);

}  // namespace kdprune::losses
