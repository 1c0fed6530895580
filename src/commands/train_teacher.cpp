#include <spdlog/spdlog.h>

#include "kdprune/models/model.h"
#include "session.h"

namespace kdprune::commands {

nlohmann::json train_teacher(const CommandOptions& opts) {
  Session s("train-teacher", opts);
  auto model = models::create_model(s.config.model.arch, s.model_spec());
  s.start_run();
  spdlog::info("model {}: {} parameters", s.config.model.arch, models::parameter_count(*model));
  const train::TrainResult r = run_training(s, model, train::cross_entropy_loss);
  nlohmann::json summary = training_summary(s, model, r);
  s.run().write_summary(summary);
  spdlog::info("done: top1 {:.2f}% (best {:.2f}% at epoch {}), run directory {}", r.final_eval.top1, r.best_top1,
               r.best_epoch, s.run().path());
  return summary;
}

}  // namespace kdprune::commands
