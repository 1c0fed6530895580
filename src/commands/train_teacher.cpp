#include <spdlog/spdlog.h>

#include "kdprune/io/npy.h"
#include "kdprune/models/model.h"
#include "kdprune/scoring/scorers.h"
#include "session.h"

namespace kdprune::commands {

nlohmann::json train_teacher(const CommandOptions& opts) {
  Session s("train-teacher", opts);
  auto model = s.create_model();
  s.start_run();
  spdlog::info("model {}: {} parameters", s.config.model.arch, models::parameter_count(*model));
  // Forgetting events come for free from the training loop (one argmax per batch).
  // Not in a data-parallel run: each rank sees only its part of every batch.
  prune::ForgettingCounter forgetting(s.data.train.size(), s.device);
  const bool count = s.collective() == nullptr;
  const train::TrainResult r =
      run_training(s, model, train::cross_entropy_loss, count ? std::vector<train::TrainObserver*>{&forgetting}
                                                              : std::vector<train::TrainObserver*>{},
                   nullptr, /*loss_capturable=*/true);  // cross-entropy is a pure function of the batch
  nlohmann::json summary = training_summary(s, model, r);
  if (!count) {
    summary["forgetting_scores"] = nullptr;
  } else if (r.resumed_from == 0 && r.epochs > 0) {
    // One score per training sample; samples outside the training view were never seen: 0.
    const auto scores = forgetting.scores().cpu();
    const auto acc = scores.accessor<double, 1>();
    std::vector<float> out(static_cast<size_t>(s.data.train.size()), 0.0f);
    for (int64_t i : s.view.indices) out[static_cast<size_t>(i)] = static_cast<float>(acc[i]);
    io::write_npy_f32(s.run().file("forgetting_scores.npy"), out);
    summary["forgetting_scores"] = s.run().file("forgetting_scores.npy");
  } else {
    spdlog::warn("forgetting scores not written: a resumed run has no counts for the epochs before the resume");
    summary["forgetting_scores"] = nullptr;
  }
  s.run().write_summary(summary);
  spdlog::info("done: top1 {:.2f}% (best {:.2f}% at epoch {}{}), run directory {}", r.final_eval.top1, r.best_top1,
               r.best_epoch, r.best_by_val ? ", chosen by validation" : "", s.run().path());
  return summary;
}

}  // namespace kdprune::commands
