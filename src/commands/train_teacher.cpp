#include <spdlog/spdlog.h>

#include "kdprune/data/train_view.h"
#include "kdprune/io/csv_table.h"
#include "kdprune/models/model.h"
#include "kdprune/system/environment.h"
#include "kdprune/train/checkpoint.h"
#include "kdprune/train/model_file.h"
#include "kdprune/train/trainer.h"
#include "session.h"

namespace kdprune::commands {

nlohmann::json train_teacher(const CommandOptions& opts) {
  Session s = open_session("train-teacher", opts);
  const auto& cfg = s.config;
  const std::vector<int64_t> indices = data::select_train_indices(cfg.data, s.data.train.size(), cfg.run.seed);
  const models::ModelSpec spec{s.data.channels(), s.data.info.classes, s.data.train.images.size(2)};
  auto model = models::create_model(cfg.model.arch, spec);
  spdlog::info("model {}: {} parameters", cfg.model.arch, models::parameter_count(*model));

  const std::string checkpoint = s.run.file("checkpoint.pt");
  // The metrics of a resumed run continue after the checkpoint's epoch; later rows were lost work.
  const int64_t done = s.run.resumed() ? train::checkpoint_epochs_done(checkpoint) : 0;
  io::CsvTable metrics = io::CsvTable::reopen(s.run.file("metrics.csv"), train::metrics_columns(), done);
  const train::TrainResult r = train::fit({.model = *model,
                                           .data = s.data,
                                           .indices = indices,
                                           .train = cfg.train,
                                           .augment = cfg.data.augment,
                                           .seed = cfg.run.seed,
                                           .metrics = &metrics,
                                           .checkpoint_path = checkpoint,
                                           .resume = s.run.resumed()});
  train::save_model(s.run.file("model.pt"), model, {cfg.model.arch, spec, s.data.info.name});

  nlohmann::json summary = {
      {"dataset", s.data.info.name},
      {"arch", cfg.model.arch},
      {"parameters", models::parameter_count(*model)},
      {"f", static_cast<double>(indices.size()) / static_cast<double>(s.data.train.size())},
      {"subset_size", indices.size()},
      {"train_size", s.data.train.size()},
      {"epochs", r.epochs},
      {"top1", r.final_eval.top1},
      {"top5", r.final_eval.top5},
      {"test_loss", r.final_eval.loss},
      {"best_top1", r.best_top1},
      {"best_epoch", r.best_epoch},
      {"images_per_second", r.images_per_second},
      {"train_seconds", r.train_seconds},
      {"resumed_from_epoch", r.resumed_from},
      {"checkpoint_file", checkpoint},
      {"device", s.device.str()},
      {"environment", system::environment_json()},
      {"model_file", s.run.file("model.pt")},
  };
  s.run.write_summary(summary);
  spdlog::info("done: top1 {:.2f}% (best {:.2f}% at epoch {}), run directory {}", r.final_eval.top1, r.best_top1,
               r.best_epoch, s.run.path());
  return summary;
}

}  // namespace kdprune::commands
