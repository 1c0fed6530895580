#include "kdprune/losses/distill_objective.h"

#include <tuple>

#include "kdprune/train/cuda_graph.h"
#include "kdprune/train/precision.h"
#include "kdprune/util/error.h"

namespace kdprune::losses {
namespace {

torch::Device device_of(const models::Model& m) {
  const auto p = m->parameters();
  return p.empty() ? torch::Device(torch::kCPU) : p.front().device();
}

// The shapes of a model's outputs on a zero batch of two, in eval mode.
OutputShapes probe(const models::Model& m, const std::vector<int64_t>& input) {
  const bool was_training = m->is_training();
  m->eval();
  torch::NoGradGuard no_grad;
  std::vector<int64_t> shape = {2};
  shape.insert(shape.end(), input.begin(), input.end());
  const OutputShapes s = output_shapes(m->forward_all(torch::zeros(shape, torch::TensorOptions().device(device_of(m)))));
  if (was_training) m->train();
  return s;
}

}  // namespace

void TeacherCache::run(const torch::Tensor& batch) {
  {
    torch::NoGradGuard no_grad;
    train::AutocastScope autocast(amp, batch.device());
    out = teacher->forward_all(batch);
  }
  x = batch;
  ++forwards;
  if (!ready) ready = std::make_shared<train::StreamEvent>(batch.device());
  ready->record();
}

Objective distill_objective(models::Model teacher, models::Model student, const KdSection& kd, double alpha,
                            const Amp& asked_amp, const std::vector<int64_t>& input,
                            const torch::Tensor& view_labels, std::shared_ptr<TeacherCache> cache) {
  const train::Autocast amp = train::autocast_of(asked_amp);
  const LossWeights w = loss_weights(kd, alpha);
  const bool needs_teacher = w.kd != 0.0 || w.extra != 0.0;
  if (needs_teacher && !teacher) throw Error("kd.teacher: a teacher checkpoint is needed when alpha > 0");
  TermContext ctx{kd, {}, {}, "", view_labels};
  if (teacher && student) ctx.student = probe(student, input), ctx.teacher = probe(teacher, input);
  std::shared_ptr<DistillTerm> kd_term = create_kd_loss(kd.loss, ctx, "kd.loss");
  std::shared_ptr<DistillTerm> extra_term;
  if (!kd.extra.empty()) extra_term = create_kd_loss(kd.extra, ctx, "kd.extra");
  Objective objective;
  // Only the terms that weigh in train their modules.
  const auto kd_modules = w.kd != 0.0 ? kd_term->trainable() : nullptr;
  const auto extra_modules = extra_term && w.extra != 0.0 ? extra_term->trainable() : nullptr;
  if (kd_modules || extra_modules) {
    objective.trainable = std::make_shared<torch::nn::Module>();
    if (kd_modules) objective.trainable->register_module("kd", kd_modules);
    if (extra_modules) objective.trainable->register_module("extra", extra_modules);
  }
  if (cache && needs_teacher) {
    if (cache->teacher && (cache->teacher.get() != teacher.get() || cache->amp != amp))
      throw InternalError("one teacher cache serves one teacher in one precision");
    cache->teacher = teacher, cache->amp = amp;
    objective.prelude = cache;
  }
  objective.capturable = !(w.kd != 0.0 && !kd_term->capturable()) && !(extra_term && w.extra != 0.0 && !extra_term->capturable());
  if (teacher) teacher->eval();
  for (const auto& [term, weight, name] : {std::tuple{kd_term, w.kd, kd.loss}, std::tuple{extra_term, w.extra, kd.extra}})
    if (term && weight != 0.0 && term->has_init_stage()) {
      objective.init_term = name;
      objective.init = term->init_stage();
      const bool preact = objective.init.preact;
      objective.init_loss = [=, term = term](const torch::Tensor& x, const models::ModelOutput& out, const torch::Tensor&,
                                             const train::BatchInfo&) {
        models::ModelOutput t;
        {
          torch::NoGradGuard no_grad;
          train::AutocastScope autocast(amp, x.device());
          const models::PreactFeatures mode(*teacher, preact);
          t = teacher->forward_all(x);
        }
        return term->init_loss(out, t);
      };
    }
  objective.loss = [=](const torch::Tensor& x, const models::ModelOutput& out, const torch::Tensor& y,
                       const train::BatchInfo& batch) {
    const auto ce = train::cross_entropy_loss(x, out, y, batch);
    if (!needs_teacher) return combine(w, ce, torch::Tensor(), torch::Tensor());
    // The batch's outputs: made by the prelude (or an earlier student's loss), else here.
    if (cache && !(cache->x.defined() && cache->x.is_same(x))) cache->run(x);
    models::ModelOutput t;
    if (cache) {
      t = cache->out;
      cache->ready->wait();
    } else {
      torch::NoGradGuard no_grad;
      train::AutocastScope autocast(amp, x.device());
      t = teacher->forward_all(x);
    }
    if (w.kd != 0.0) kd_term->on_batch(batch);
    if (extra_term && w.extra != 0.0) extra_term->on_batch(batch);
    const auto kd_value = w.kd != 0.0 ? (*kd_term)(out, t, y) : torch::Tensor();
    const auto extra_value = extra_term && w.extra != 0.0 ? (*extra_term)(out, t, y) : torch::Tensor();
    return combine(w, ce, kd_value, extra_value);
  };
  return objective;
}

}  // namespace kdprune::losses
