#include <spdlog/spdlog.h>

#include <filesystem>

#include "kdprune/commands/commands.h"
#include "kdprune/train/model_file.h"
#include "kdprune/util/error.h"

namespace kdprune::commands {

nlohmann::json export_model(const std::string& checkpoint, const std::string& out_path) {
  const train::LoadedModel loaded = train::load_model(checkpoint, torch::Device(torch::kCPU));
  const std::string out = out_path.empty() ? std::filesystem::path(checkpoint).replace_extension(".pth").string() : out_path;
  if (std::filesystem::weakly_canonical(out) == std::filesystem::weakly_canonical(checkpoint))
    throw Error("--out: '" + out + "' is the model file itself");
  if (loaded.meta.mean.empty())
    spdlog::warn("{}: written before kdprune recorded the input normalisation; model.pth gets empty mean/std "
                 "(the dataset's are in docs/datasets.md)", checkpoint);
  train::export_pytorch(out, loaded.model, loaded.meta);
  spdlog::info("{} ({}, {} classes) -> {}: torch.load(path, weights_only=True)[\"state_dict\"]", checkpoint,
               loaded.meta.arch, loaded.meta.spec.classes, out);
  return {{"checkpoint", checkpoint}, {"out", out}, {"arch", loaded.meta.arch}};
}

}  // namespace kdprune::commands
