#include <spdlog/spdlog.h>

#include "kdprune/system/environment.h"
#include "kdprune/train/model_file.h"
#include "kdprune/train/trainer.h"
#include "kdprune/util/error.h"
#include "session.h"

namespace kdprune::commands {

nlohmann::json eval_model(const CommandOptions& opts, const std::string& model_path) {
  // Load the model first: a bad file must fail before a run directory exists.
  train::LoadedModel loaded = train::load_model(model_path, torch::Device(torch::kCPU));
  const Config probe = load_config(opts.config_path, opts.overrides);
  if (probe.data.name != loaded.meta.dataset)
    throw Error("model file '" + model_path + "' was trained on " + loaded.meta.dataset + " but data.name=" +
                probe.data.name + "; pass data.name=" + loaded.meta.dataset);
  Session s = open_session("eval", opts);
  if (s.data.channels() != loaded.meta.in_channels || s.data.info.classes != loaded.meta.classes)
    throw Error("model file '" + model_path + "' expects " + std::to_string(loaded.meta.in_channels) + " channels and " +
                std::to_string(loaded.meta.classes) + " classes; the dataset has " +
                std::to_string(s.data.channels()) + " and " + std::to_string(s.data.info.classes));
  loaded.model->to(s.device);
  const train::EvalResult r = train::evaluate(*loaded.model, s.data.test, s.data.info, s.config.train.eval_batch_size);
  nlohmann::json summary = {
      {"dataset", s.data.info.name}, {"arch", loaded.meta.arch},       {"model_file", model_path},
      {"top1", r.top1},             {"top5", r.top5},                 {"test_loss", r.loss},
      {"test_size", r.samples},     {"device", s.device.str()},       {"environment", system::environment_json()},
  };
  s.run.write_summary(summary);
  spdlog::info("{} on {} test ({} images): top1 {:.2f}%  top5 {:.2f}%  loss {:.4f}", loaded.meta.arch,
               s.data.info.name, r.samples, r.top1, r.top5, r.loss);
  return summary;
}

}  // namespace kdprune::commands
