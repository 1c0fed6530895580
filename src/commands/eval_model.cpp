#include <spdlog/spdlog.h>

#include <filesystem>

#include "kdprune/commands/commands.h"
#include "kdprune/data/dataset_registry.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/io/run_dir.h"
#include "kdprune/system/environment.h"
#include "kdprune/train/model_file.h"
#include "kdprune/train/precision.h"
#include "kdprune/train/trainer.h"
#include "kdprune/util/error.h"
#include "kdprune/util/logging.h"

namespace kdprune::commands {

nlohmann::json eval_model(const CommandOptions& opts, const std::string& checkpoint, const std::string& out_path,
                          const std::string& arch) {
  // The dataset the file names is the default; a PyTorch state_dict names none (then data.name).
  const std::string trained_on = train::model_file_dataset(checkpoint);
  const Config cfg = load_config(opts.config_path, opts.overrides,
                                 trained_on.empty() ? std::vector<std::string>{} : std::vector<std::string>{"data.name=" + trained_on});
  logging::init(cfg.run.log_level);
  const torch::Device device(system::resolve_device(cfg.run.device));
  system::configure_runtime(cfg.run.threads, cfg.run.seed);
  data::TensorDataset ds = data::to_tensors(data::load_dataset(cfg.data, cfg.run.seed), device);
  const train::ModelExpectation expect{arch, "--arch", {ds.channels(), ds.info.classes, ds.train.images.size(2)}, ds.info.name};
  train::LoadedModel loaded = train::load_model(checkpoint, torch::Device(torch::kCPU), &expect);
  if (loaded.meta.dataset.empty()) loaded.meta.dataset = "(not recorded)";
  if (ds.channels() != loaded.meta.spec.in_channels || ds.info.classes != loaded.meta.spec.classes)
    throw Error("checkpoint '" + checkpoint + "' holds a " + loaded.meta.arch + " for " +
                std::to_string(loaded.meta.spec.in_channels) + " input channels and " + std::to_string(loaded.meta.spec.classes) +
                " classes (trained on " + loaded.meta.dataset + "); dataset " + ds.info.name + " has " +
                std::to_string(ds.channels()) + " channels and " + std::to_string(ds.info.classes) + " classes");
  loaded.model->to(device);
  // The precision training evaluated in, so that eval reproduces a run's reported accuracy: where
  // train.amp/channels_last are auto, the run's own (its config.yaml beside the file), else what a
  // run on this device gets.
  TrainSection precision = cfg.train;
  const auto run_config = std::filesystem::path(checkpoint).parent_path() / "config.yaml";
  if (std::filesystem::exists(run_config)) try {
      keep_started_precision(precision, io::RunDir::read_config(run_config.string()).train);
    } catch (const Error&) {
      // not a config kdprune can read: the device's choice
    }
  const train::Precision p = train::resolved_precision(precision, device);
  const bool channels_last = p.channels_last;
  if (channels_last) train::to_channels_last(*loaded.model);
  const train::EvalResult r =
      train::evaluate(*loaded.model, ds.test, ds.info, cfg.train.eval_batch_size, p.amp, channels_last);
  nlohmann::json per_class = nlohmann::json::object();
  for (size_t c = 0; c < r.per_class_top1.size(); ++c) per_class[ds.info.class_names[c]] = r.per_class_top1[c];
  nlohmann::json result = {
      {"checkpoint", checkpoint},     {"arch", loaded.meta.arch},   {"dataset", ds.info.name},
      {"trained_on", loaded.meta.dataset}, {"top1", r.top1},        {"top5", r.top5},
      {"loss", r.loss},               {"test_size", r.samples},     {"per_class_top1", per_class},
      {"device", device.str()},       {"amp", train::autocast_name(p.amp)},       {"channels_last", channels_last},
      {"environment", system::environment_json()},
  };
  const std::string out =
      out_path.empty() ? (std::filesystem::path(checkpoint).parent_path() / "eval.json").string() : out_path;
  io::write_file_atomic(out, result.dump(2) + "\n");
  spdlog::info("{} on {} test ({} images): top1 {:.2f}%  top5 {:.2f}%  loss {:.4f}  -> {}", loaded.meta.arch,
               ds.info.name, r.samples, r.top1, r.top5, r.loss, out);
  return result;
}

}  // namespace kdprune::commands
