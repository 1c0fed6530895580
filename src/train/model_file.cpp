#include "kdprune/train/model_file.h"

#include <filesystem>

#include "kdprune/io/atomic_file.h"
#include "kdprune/util/error.h"

namespace kdprune::train {

void save_model(const std::string& path, const models::Model& model, const ModelMeta& meta) {
  io::write_via_temp(path, [&](const std::string& tmp) {
    torch::serialize::OutputArchive archive;
    archive.write("kdprune_arch", c10::IValue(meta.arch));
    archive.write("kdprune_in_channels", c10::IValue(meta.spec.in_channels));
    archive.write("kdprune_classes", c10::IValue(meta.spec.classes));
    archive.write("kdprune_image_size", c10::IValue(meta.spec.image_size));
    archive.write("kdprune_dataset", c10::IValue(meta.dataset));
    model->save(archive);
    archive.save_to(tmp);
  });
}

LoadedModel load_model(const std::string& path, const torch::Device& device) {
  if (!std::filesystem::is_regular_file(path)) throw Error("model file '" + path + "': not found");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, torch::Device(torch::kCPU));
  } catch (const c10::Error&) {
    throw Error("model file '" + path + "': not a readable LibTorch archive (truncated or not written by kdprune)");
  }
  LoadedModel out;
  c10::IValue v;
  auto read = [&](const char* key) {
    if (!archive.try_read(key, v))
      throw Error("model file '" + path + "': no '" + std::string(key) + "' entry (not a kdprune model file)");
    return v;
  };
  out.meta.arch = read("kdprune_arch").toStringRef();
  out.meta.spec.in_channels = read("kdprune_in_channels").toInt();
  out.meta.spec.classes = read("kdprune_classes").toInt();
  out.meta.spec.image_size = read("kdprune_image_size").toInt();
  out.meta.dataset = read("kdprune_dataset").toStringRef();
  out.model = models::create_model(out.meta.arch, out.meta.spec);
  try {
    out.model->load(archive);
  } catch (const c10::Error& e) {
    throw Error("model file '" + path + "': weights do not fit " + out.meta.arch + " (" +
                std::string(e.what_without_backtrace()).substr(0, 200) + ")");
  }
  out.model->to(device);
  return out;
}

}  // namespace kdprune::train
