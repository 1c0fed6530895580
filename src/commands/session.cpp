#include "session.h"

#include <spdlog/spdlog.h>

#include "kdprune/data/dataset_registry.h"
#include "kdprune/system/environment.h"
#include "kdprune/util/error.h"
#include "kdprune/util/logging.h"
#include "kdprune/version.h"

namespace kdprune::commands {

Session open_session(const std::string& command, const CommandOptions& opts) {
  Config config = load_config(opts.config_path, opts.overrides);
  logging::init(config.run.log_level);
  const torch::Device device(system::resolve_device(config.run.device));
  system::configure_runtime(config.run.threads, config.run.seed);
  data::RawDataset raw = data::load_dataset(config.data, config.run.seed);
  const std::string source = raw.source;
  if (opts.resume && opts.force) throw Error("--resume and --force exclude each other");
  io::RunDir run = opts.resume ? io::RunDir::reopen(config, command) : io::RunDir::create(config.run, command, opts.force);
  if (!run.resumed()) run.write_config(config);
  run.attach_log();
  if (run.resumed()) spdlog::info("resuming run {}", run.path());
  spdlog::info("kdprune {} ({}) {}: run directory {}", KDPRUNE_VERSION, git_commit(), command, run.path());
  spdlog::info("device {}, LibTorch {}, {} CPU threads", device.str(), system::environment().torch_version,
               system::environment().cpu_threads);
  spdlog::info("dataset {} from {}: {} train / {} test images of {}x{}x{}, {} classes", raw.info.name, source,
               raw.train.n, raw.test.n, raw.train.c, raw.train.h, raw.train.w, raw.info.classes);
  data::TensorDataset tensors = data::to_tensors(std::move(raw), device);
  return Session{std::move(config), std::move(run), device, std::move(tensors)};
}

}  // namespace kdprune::commands
