#pragma once
// The student's training loss for the trainer: CE on the labels plus the distillation term(s)
// against a frozen teacher that runs in eval mode, without gradients, on the same augmented batch.
#include "kdprune/losses/kd_loss.h"
#include "kdprune/train/precision.h"
#include "kdprune/train/trainer.h"

namespace kdprune::train {
class StreamEvent;
}

namespace kdprune::losses {

struct Objective {
  train::LossFn loss;
  std::shared_ptr<torch::nn::Module> trainable;  // the terms' modules (TrainInputs::loss_modules); may be null
  train::LossFn init_loss;                       // the init stage's loss (FSP, AB, FT); empty when no term has one
  std::string init_term;                         // its name, for the log
  DistillTerm::InitStage init;                   // what the init stage trains
  bool capturable = false;                       // every active term can be captured in a CUDA graph (computed)
  std::shared_ptr<train::BatchPrelude> prelude;  // the shared TeacherCache when the loss reads the teacher; else null
};

// Students trained together (train::fit_group) on the same batches: objectives built with one
// cache run their teacher once per batch (the same batch tensor) and share its outputs. The cache is
// their prelude (TrainInputs::prelude): the trainer runs the teacher's forward on each batch before
// the students' forwards (on a GPU on a stream of its own, which each KD loss waits for); a loss
// that finds no outputs for its batch (no prelude given) runs the teacher itself.
struct TeacherCache : train::BatchPrelude {
  torch::Tensor x;  // the batch the outputs belong to (held, so its address cannot be reused)
  models::ModelOutput out;
  int64_t forwards = 0;  // teacher forwards actually run
  // Marks the outputs ready; the students' losses wait for it before reading them.
  std::shared_ptr<train::StreamEvent> ready;
  // Set by distill_objective: the teacher and its autocast (one cache serves one of each).
  models::Model teacher;
  train::Autocast amp = train::Autocast::off;

  void run(const torch::Tensor& batch) override;  // the teacher's forward on `batch`, kept
};

// `teacher` may be null only when the KD and extra weights are 0 (plain training). Terms that need
// the feature shapes get them from one probe forward of student and teacher on a zero batch of
// `input` (C, H, W); CRD needs the training view's labels (`view_labels`, in view order).
// `amp`: the teacher's autocast, a resolved train.amp (off, bf16 or fp16: train::resolve_precision).
Objective distill_objective(models::Model teacher, models::Model student, const KdSection& kd, double alpha,
                            const Amp& amp, const std::vector<int64_t>& input,
                            const torch::Tensor& view_labels = {}, std::shared_ptr<TeacherCache> cache = nullptr);

}  // namespace kdprune::losses
