#include "kdprune/losses/distill_objective.h"

#include "kdprune/train/precision.h"
#include "kdprune/util/error.h"

namespace kdprune::losses {

train::LossFn distill_objective(models::Model teacher, const KdSection& kd, double alpha, const std::string& amp) {
  const LossWeights w = loss_weights(kd, alpha);
  const bool needs_teacher = w.kd != 0.0 || w.extra != 0.0;
  if (needs_teacher && !teacher) throw Error("kd.teacher: a teacher checkpoint is needed when alpha > 0");
  std::shared_ptr<DistillTerm> kd_term = create_kd_loss(kd.loss, kd, "kd.loss");
  std::shared_ptr<DistillTerm> extra_term;
  if (!kd.extra.empty()) extra_term = create_kd_loss(kd.extra, kd, "kd.extra");
  if (teacher) teacher->eval();
  return [=](const torch::Tensor& x, const models::ModelOutput& out, const torch::Tensor& y) {
    const auto ce = train::cross_entropy_loss(x, out, y);
    if (!needs_teacher) return combine(w, ce, torch::Tensor(), torch::Tensor());
    models::ModelOutput t;
    {
      torch::NoGradGuard no_grad;
      train::AutocastScope autocast(amp, x.device());
      t = teacher->forward_all(x);
    }
    const auto kd_value = (*kd_term)(out, t, y);
    const auto extra_value = extra_term ? (*extra_term)(out, t, y) : torch::Tensor();
    return combine(w, ce, kd_value, extra_value);
  };
}

}  // namespace kdprune::losses
