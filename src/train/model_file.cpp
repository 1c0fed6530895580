#include "kdprune/train/model_file.h"

#include <fstream>

#include "kdprune/io/zip_check.h"
#include "kdprune/train/archive.h"
#include "kdprune/train/torch_save.h"
#include "kdprune/util/error.h"

namespace kdprune::train {

// pytorch_model.cpp
LoadedModel load_pytorch_model(const std::string& path, const torch::Device& device, const ModelExpectation& expect);
std::string pytorch_file_dataset(const std::string& path);

void save_model(const std::string& path, const models::Model& model, const ModelMeta& meta) {
  torch::serialize::OutputArchive archive;
  archive.write("kdprune_arch", c10::IValue(meta.arch));
  archive.write("kdprune_in_channels", c10::IValue(meta.spec.in_channels));
  archive.write("kdprune_classes", c10::IValue(meta.spec.classes));
  archive.write("kdprune_image_size", c10::IValue(meta.spec.image_size));
  archive.write("kdprune_dataset", c10::IValue(meta.dataset));
  // The input normalisation, for exports (model.pth); model files before 2026-11 lack it.
  if (!meta.mean.empty()) archive.write("kdprune_mean", torch::tensor(meta.mean), /*is_buffer=*/true);
  if (!meta.std.empty()) archive.write("kdprune_std", torch::tensor(meta.std), /*is_buffer=*/true);
  model->save(archive);
  write_archive(archive, path);
}

LoadedModel load_model(const std::string& path, const torch::Device& device, const ModelExpectation* expect) {
  const std::string what = "model file '" + path + "'";
  // A damaged kdprune file can pass for a torch.save one (a flipped record name): checked first.
  if (std::ifstream in{path, std::ios::binary}; in && in.get() == 'P' && in.get() == 'K') io::verify_zip_crcs(path, what);
  if (is_torch_save_file(path)) {
    if (!expect) throw Error(what + ": a PyTorch torch.save file; this input needs a kdprune model.pt");
    return load_pytorch_model(path, device, *expect);
  }
  torch::serialize::InputArchive archive = read_archive(path, what, torch::Device(torch::kCPU));
  LoadedModel out;
  if (!has_entry(archive, "kdprune_arch")) {
    const bool checkpoint = has_entry(archive, "epochs_done");
    throw Error(what + ": not a kdprune model file (no 'kdprune_arch' entry" +
                (checkpoint ? std::string("; this is a checkpoint.pt: give the run's model.pt") : std::string()) + ")");
  }
  out.meta.arch = read_string(archive, "kdprune_arch", what);
  out.meta.spec.in_channels = read_int(archive, "kdprune_in_channels", what);
  out.meta.spec.classes = read_int(archive, "kdprune_classes", what);
  out.meta.spec.image_size = read_int(archive, "kdprune_image_size", what);
  out.meta.dataset = read_string(archive, "kdprune_dataset", what);
  for (auto [key, into] : {std::pair{"kdprune_mean", &out.meta.mean}, std::pair{"kdprune_std", &out.meta.std}}) {
    torch::Tensor t;
    if (archive.try_read(key, t, /*is_buffer=*/true)) {
      if (t.dim() != 1 || t.scalar_type() != torch::kFloat32 || t.numel() != out.meta.spec.in_channels)
        throw Error(what + ": entry '" + std::string(key) + "' is not one float per input channel");
      into->assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    }
  }
  // Bounds that every model of the registry needs; beyond them the file was not written by kdprune.
  if (out.meta.spec.in_channels < 1 || out.meta.spec.in_channels > 64 || out.meta.spec.classes < 1 ||
      out.meta.spec.classes > 1000000 || out.meta.spec.image_size < 1 || out.meta.spec.image_size > 100000)
    throw Error(what + ": implausible metadata (in_channels " + std::to_string(out.meta.spec.in_channels) + ", classes " +
                std::to_string(out.meta.spec.classes) + ", image_size " + std::to_string(out.meta.spec.image_size) + ")");
  try {
    out.model = models::create_model(out.meta.arch, out.meta.spec);
  } catch (const Error& e) {
    throw Error(what + ": " + e.what());
  }
  load_weights_checked(*out.model, archive, what,
                       out.meta.arch + " (" + std::to_string(out.meta.spec.classes) + " classes, " +
                           std::to_string(out.meta.spec.in_channels) + " input channels)");
  out.model->to(device);
  if (expect && !expect->arch.empty() && expect->arch != out.meta.arch)
    throw Error(what + ": holds a " + out.meta.arch + ", but " + expect->arch_key + " is " + expect->arch);
  return out;
}

std::string model_file_arch(const std::string& path) {
  const torch::Device cpu(torch::kCPU);
  if (!is_torch_save_file(path)) return load_model(path, cpu).meta.arch;
  const std::string what = "PyTorch file '" + path + "'";
  const PyTorchStateDict sd = read_torch_save_state_dict(path, what);
  ModelExpectation expect{"", "", {0, 0, 32}, ""};
  for (const auto& [name, t] : sd.tensors) {
    if (t.dim() == 4 && expect.spec.in_channels == 0) expect.spec.in_channels = t.size(1);
    if (t.dim() == 2) expect.spec.classes = t.size(0);  // the last linear layer is the classifier
  }
  if (expect.spec.in_channels == 0 || expect.spec.classes == 0)
    throw Error(what + ": no convolution or no linear layer, so no architecture fits it");
  return load_model(path, cpu, &expect).meta.arch;
}

std::string model_file_dataset(const std::string& path) {
  if (is_torch_save_file(path)) return pytorch_file_dataset(path);
  const std::string what = "model file '" + path + "'";
  torch::serialize::InputArchive archive = read_archive(path, what, torch::Device(torch::kCPU));
  return has_entry(archive, "kdprune_dataset") ? read_string(archive, "kdprune_dataset", what) : std::string();
}

}  // namespace kdprune::train
