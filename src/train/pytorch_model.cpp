// PyTorch state_dicts in (teachers, model.init, eval) and out (model.pth). The CIFAR ResNets and
// WRNs use RepDistiller's parameter names and the ImageNet ResNets torchvision's, so a state_dict
// maps onto a registered architecture name for name.
#include <spdlog/spdlog.h>

#include <map>

#include "kdprune/train/archive.h"
#include "kdprune/train/model_file.h"
#include "kdprune/train/torch_save.h"
#include "kdprune/util/error.h"

namespace kdprune::train {
namespace {

// The module's parameters and buffers in PyTorch's state_dict order (each module's own, then its
// children's), with PyTorch's dotted names.
void state_entries(const torch::nn::Module& m, const std::string& prefix, NamedTensors& out) {
  for (const auto& p : m.named_parameters(false)) out.emplace_back(prefix + p.key(), p.value());
  for (const auto& b : m.named_buffers(false)) out.emplace_back(prefix + b.key(), b.value());
  for (const auto& c : m.named_children()) state_entries(*c.value(), prefix + c.key() + ".", out);
}

NamedTensors state_entries(const torch::nn::Module& m) {
  NamedTensors out;
  state_entries(m, "", out);
  return out;
}

struct Match {
  int64_t agree = 0;    // entries present with the right shape
  std::string problem;  // the first disagreement; "" = the file fits
};

// BatchNorm's step counter is optional: PyTorch before 0.4.1 did not save it, and it does not
// affect the model's outputs.
bool optional_entry(const std::string& name) { return name.ends_with("num_batches_tracked"); }

Match compare(const NamedTensors& want, const std::map<std::string, torch::Tensor>& file, const std::string& prefix,
              const std::string& fits) {
  Match m;
  std::map<std::string, bool> used;
  for (const auto& [name, t] : want) {
    const auto it = file.find(prefix + name);
    if (it == file.end()) {
      if (!optional_entry(name) && m.problem.empty())
        m.problem = "no entry '" + prefix + name + "' (" + fits + " needs " + shape_text(t) + ")";
      continue;
    }
    used[it->first] = true;
    if (it->second.sizes() != t.sizes()) {
      if (m.problem.empty())
        m.problem = "'" + it->first + "' has shape " + shape_text(it->second) + " in the file, but " + fits + " needs " + shape_text(t);
      continue;
    }
    ++m.agree;
  }
  if (m.problem.empty())
    for (const auto& [name, t] : file)
      if (!used.count(name)) {
        m.problem = "entry '" + name + "' " + shape_text(t) + " in the file is not part of " + fits;
        break;
      }
  return m;
}

std::string describe(const std::string& arch, const models::ModelSpec& spec) {
  return arch + " (" + std::to_string(spec.classes) + " classes, " + std::to_string(spec.in_channels) + " input channels)";
}

}  // namespace

LoadedModel load_pytorch_model(const std::string& path, const torch::Device& device, const ModelExpectation& expect) {
  const std::string what = "PyTorch file '" + path + "'";
  PyTorchStateDict sd = read_torch_save_state_dict(path, what);
  std::map<std::string, torch::Tensor> file;
  for (const auto& [name, t] : sd.tensors) file[name] = t;

  // A DataParallel or wrapper prefix ("module.", "model.") shared by every key is tried as well.
  std::vector<std::string> prefixes = {""};
  const std::string first = sd.tensors.front().first;
  if (const auto dot = first.find('.'); dot != std::string::npos) {
    const std::string p = first.substr(0, dot + 1);
    bool all = true;
    for (const auto& [name, t] : sd.tensors) all = all && name.rfind(p, 0) == 0;
    if (all) prefixes.push_back(p);
  }

  std::string arch = expect.arch;
  std::string source = expect.arch.empty() ? "" : expect.arch_key;
  if (arch.empty() && sd.meta.is_object() && sd.meta.contains("arch") && sd.meta["arch"].is_string()) {
    arch = sd.meta["arch"].get<std::string>(), source = "the file's 'arch' entry";
    try {
      models::create_model(arch, expect.spec);
    } catch (const Error&) {
      // Another tool's name for it: inferred from the shapes instead, and said, since a typo in a
      // file we wrote ourselves would otherwise pass unseen.
      spdlog::warn("{}: its 'arch' entry '{}' is no kdprune architecture; the architecture is inferred from the "
                   "tensor shapes (name it with {} to choose)",
                   what, arch, expect.arch_key.empty() ? std::string("kd.teacher_arch") : expect.arch_key);
      arch.clear(), source.clear();
    }
  }
  std::vector<std::string> candidates = arch.empty() ? models::model_names() : std::vector<std::string>{arch};

  struct Found {
    std::string arch, prefix;
    models::Model model;
  };
  std::vector<Found> fits;
  std::string best_problem;
  int64_t best_agree = -1;
  for (const auto& name : candidates) {
    models::Model model;
    try {
      model = models::create_model(name, expect.spec);
    } catch (const Error& e) {
      throw Error(what + ": " + e.what());
    }
    const NamedTensors want = state_entries(*model);
    for (const auto& prefix : prefixes) {
      const Match m = compare(want, file, prefix, describe(name, expect.spec));
      if (m.problem.empty()) {
        fits.push_back({name, prefix, model});
      } else if (m.agree > best_agree) {
        best_agree = m.agree, best_problem = m.problem;
      }
    }
  }
  const std::string key_hint = expect.arch_key.empty() ? std::string() : " (set " + expect.arch_key + ")";
  if (fits.empty()) {
    if (!arch.empty()) throw Error(what + ": " + best_problem);
    throw Error(what + ": matches no registered architecture for " + std::to_string(expect.spec.classes) + " classes and " +
                std::to_string(expect.spec.in_channels) + " input channels; the closest: " + best_problem);
  }
  if (fits.size() > 1) {
    std::string names;
    for (const auto& f : fits) names += (names.empty() ? "" : ", ") + f.arch;
    throw Error(what + ": its shapes fit several architectures (" + names + "); name one" + key_hint);
  }
  Found& f = fits.front();
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : state_entries(*f.model)) {
      const auto it = file.find(f.prefix + name);
      if (it != file.end()) t.copy_(it->second.to(t.scalar_type()));
    }
  }
  refuse_non_finite(*f.model, what);
  LoadedModel out;
  out.model = f.model;
  out.model->to(device);
  out.meta.arch = f.arch;
  out.meta.spec = expect.spec;
  if (sd.meta.is_object() && sd.meta.contains("dataset") && sd.meta["dataset"].is_string())
    out.meta.dataset = sd.meta["dataset"].get<std::string>();
  spdlog::info("{}: a PyTorch state_dict{}{} read as {} ({}, {} tensors)", path,
               sd.found_under.empty() ? "" : " under '" + sd.found_under + "'",
               f.prefix.empty() ? "" : " with prefix '" + f.prefix + "'", f.arch,
               source.empty() ? "architecture inferred from the shapes" : "architecture from " + source, sd.tensors.size());
  return out;
}

std::string pytorch_file_dataset(const std::string& path) {
  const PyTorchStateDict sd = read_torch_save_state_dict(path, "PyTorch file '" + path + "'");
  if (sd.meta.is_object() && sd.meta.contains("dataset") && sd.meta["dataset"].is_string())
    return sd.meta["dataset"].get<std::string>();
  return "";
}

void export_pytorch(const std::string& path, const models::Model& model, const ModelMeta& meta) {
  nlohmann::json j = {{"arch", meta.arch},
                      {"classes", meta.spec.classes},
                      {"in_channels", meta.spec.in_channels},
                      {"image_size", meta.spec.image_size},
                      {"dataset", meta.dataset},
                      {"mean", meta.mean},
                      {"std", meta.std},
                      {"normalize", "input = (pixels / 255 - mean) / std, per channel"},
                      {"written_by", "kdprune"}};
  write_torch_save(path, state_entries(*model), j);
}

}  // namespace kdprune::train
