#include <algorithm>
#include <filesystem>
#include <sstream>

#include "kdprune/commands/commands.h"
#include "kdprune/config/config_lookup.h"
#include "kdprune/data/dataset_registry.h"
#include "kdprune/dist/collective.h"
#include "kdprune/losses/kd_loss.h"
#include "kdprune/models/model.h"
#include "kdprune/prune/pruner_registry.h"
#include "kdprune/prune/sampling.h"
#include "kdprune/system/environment.h"
#include "kdprune/train/precision.h"
#include "kdprune/version.h"

namespace kdprune::commands {

std::string info_report() {
  const auto env = system::environment();
  std::ostringstream o;
  o << "kdprune " << KDPRUNE_VERSION << " (commit " << git_commit() << ")\n"
    << "LibTorch " << env.torch_version << "; CUDA built: " << (env.cuda_built ? "yes" : "no")
    << ", available: " << (env.cuda_available ? "yes" : "no") << ", cuDNN: " << (env.cudnn_available ? "yes" : "no")
    << "; CPU threads: " << env.cpu_threads << "\n";
  for (const auto& d : env.device_names) o << "  device " << d << "\n";
  // What train.amp=auto / train.channels_last=auto train in here (train::resolve_precision).
  auto precision = [](const torch::Device& device) {
    const train::Precision p = train::resolved_precision(TrainSection{}, device);
    return p.amp == train::Autocast::off ? std::string("fp32")
                                         : train::autocast_name(p.amp) + std::string(p.channels_last ? " + channels-last" : "");
  };
  o << "precision (train.amp=auto): cpu " << precision(torch::kCPU)
    << (train::cpu_has_native_bf16() ? " (native bf16)" : " (no native bf16)") << ", cuda "
    << precision(torch::Device(torch::kCUDA, 0)) << "\n";
#ifdef KDPRUNE_WITH_MATIO
  o << "SVHN .mat support: yes (matio)\n";
#else
  o << "SVHN .mat support: no (built without matio)\n";
#endif
  o << "data-parallel: "
    << (!dist::Collective::available()        ? "no (built without the gloo headers)"
        : dist::Collective::nccl_available() ? "gloo, nccl for CUDA tensors (c10d; torchrun/Slurm environment)"
                                              : "gloo (c10d; torchrun/Slurm environment; no NCCL in this build)")
    << "\n";
  o << "\ndatasets:\n";
  for (const auto& d : data::dataset_registry()) o << "  " << d.name << "  - " << d.description << "\n";
  o << "\nmodels:\n";
  for (const auto& m : models::model_registry()) o << "  " << m.name << "  - " << m.description << "\n";
  o << "\npruners (score-free ones also inline in train-teacher/distill):\n";
  for (const auto& p : prune::pruner_registry()) o << "  " << p.name << "  - " << p.description << "\n";
  o << "\nsampling rules (prune.sampling; auto picks topk or beta):\n";
  for (const auto& r : prune::sampling_registry()) o << "  " << r.name << "  - " << r.description << "\n";
  o << "\nKD losses (kd.loss, kd.extra):\n";
  for (const auto& l : losses::kd_loss_registry()) o << "  " << l.name << "  - " << l.description << "\n";
  // The shipped configs, by the names --config takes (the first folder that has them).
  for (const auto& dir : shipped_config_dirs()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) continue;
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
      if (e.path().extension() == ".yaml") {
        const auto rel = std::filesystem::relative(e.path(), dir, ec);
        names.push_back(rel.parent_path().empty() ? rel.string() : rel.parent_path().string() + "_" + rel.filename().string());
      }
    if (names.empty()) continue;
    std::sort(names.begin(), names.end());
    o << "\nshipped configs (--config NAME, from " << dir << "):\n";
    for (const auto& n : names) o << "  " << n << "\n";
    break;
  }
  return o.str();
}

std::string dataset_report(const CommandOptions& opts) {
  const Config cfg = load_config(opts.config_path, opts.overrides);
  const data::RawDataset ds = data::load_dataset(cfg.data, cfg.run.seed);
  std::ostringstream o;
  o << "dataset " << ds.info.name << " from " << ds.source << "\n"
    << "  train " << ds.train.n << ", test " << ds.test.n << " images of " << ds.train.c << "x" << ds.train.h << "x"
    << ds.train.w << " (CxHxW, uint8), " << ds.info.classes << " classes, horizontal flip "
    << (ds.info.flip ? "valid" : "off") << "\n  normalisation mean (";
  for (size_t i = 0; i < ds.info.mean.size(); ++i) o << (i ? ", " : "") << ds.info.mean[i];
  o << ") std (";
  for (size_t i = 0; i < ds.info.std.size(); ++i) o << (i ? ", " : "") << ds.info.std[i];
  o << ")\n  class            train    test\n";
  const auto tr = data::class_counts(ds.train, ds.info.classes), te = data::class_counts(ds.test, ds.info.classes);
  for (int64_t c = 0; c < ds.info.classes; ++c) {
    std::string name = std::to_string(c) + " " + ds.info.class_names[static_cast<size_t>(c)];
    name.resize(std::max<size_t>(name.size(), 14), ' ');
    o << "  " << name << " " << std::string(std::max<int>(0, 8 - static_cast<int>(std::to_string(tr[c]).size())), ' ')
      << tr[c] << " " << std::string(std::max<int>(0, 7 - static_cast<int>(std::to_string(te[c]).size())), ' ')
      << te[c] << "\n";
  }
  return o.str();
}

}  // namespace kdprune::commands
