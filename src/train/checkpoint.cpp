#include "kdprune/train/checkpoint.h"

#include <filesystem>

#include "kdprune/train/archive.h"
#include "kdprune/util/error.h"

namespace kdprune::train {

void save_checkpoint(const std::string& path, models::ModelImpl& model, torch::optim::Optimizer& opt,
                     const TrainState& state, torch::nn::Module* extra) {
  torch::serialize::OutputArchive archive, model_archive, opt_archive;
  model.save(model_archive);
  opt.save(opt_archive);
  archive.write("model", model_archive);
  if (extra) {
    torch::serialize::OutputArchive extra_archive;
    extra->save(extra_archive);
    archive.write("kd_modules", extra_archive);
  }
  archive.write("optimizer", opt_archive);
  archive.write("epochs_done", c10::IValue(state.epochs_done));
  archive.write("best_top1", c10::IValue(state.best_top1));
  archive.write("best_epoch", c10::IValue(state.best_epoch));
  archive.write("rng_cpu", at::detail::getDefaultCPUGenerator().get_state());
  if (state.scaler.defined()) archive.write("scaler", state.scaler);
  if (state.row_samples > 0) {
    archive.write("step_row_loss", c10::IValue(state.row_loss));
    archive.write("step_row_samples", c10::IValue(state.row_samples));
    archive.write("step_row_seconds", c10::IValue(state.row_seconds));
  }
  write_archive(archive, path);
}

namespace {
std::string what_of(const std::string& path) { return "checkpoint '" + path + "'"; }
void refuse_model_file(torch::serialize::InputArchive& archive, const std::string& what) {
  if (!has_entry(archive, "epochs_done")) {
    const bool model_file = has_entry(archive, "kdprune_arch");
    throw Error(what + ": not a kdprune checkpoint (no 'epochs_done' entry" +
                (model_file ? std::string("; this is a model.pt, which holds no optimizer state to resume from")
                            : std::string()) +
                ")");
  }
}
}  // namespace

int64_t checkpoint_epochs_done(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) return 0;
  const std::string what = what_of(path);
  torch::serialize::InputArchive archive = read_archive(path, what, torch::Device(torch::kCPU));
  refuse_model_file(archive, what);
  const int64_t epochs = read_int(archive, "epochs_done", what);
  if (epochs < 0) throw Error(what + ": entry 'epochs_done' is negative (" + std::to_string(epochs) + ")");
  return epochs;
}

TrainState load_checkpoint(const std::string& path, models::ModelImpl& model, torch::optim::Optimizer& opt,
                           const std::string& fits, torch::nn::Module* extra) {
  const std::string what = what_of(path);
  torch::serialize::InputArchive archive = read_archive(
      path, what, model.parameters().empty() ? torch::Device(torch::kCPU) : model.parameters()[0].device());
  refuse_model_file(archive, what);
  TrainState s;
  s.epochs_done = read_int(archive, "epochs_done", what);
  s.best_top1 = read_double(archive, "best_top1", what);
  s.best_epoch = read_int(archive, "best_epoch", what);
  if (s.epochs_done < 0) throw Error(what + ": entry 'epochs_done' is negative (" + std::to_string(s.epochs_done) + ")");
  if (has_entry(archive, "step_row_samples")) {
    s.row_loss = read_double(archive, "step_row_loss", what);
    s.row_samples = read_int(archive, "step_row_samples", what);
    s.row_seconds = read_double(archive, "step_row_seconds", what);
  }
  torch::serialize::InputArchive model_archive, opt_archive;
  try {
    if (!archive.try_read("model", model_archive)) throw Error(what + ": no 'model' entry");
    if (!archive.try_read("optimizer", opt_archive)) throw Error(what + ": no 'optimizer' entry");
  } catch (const Error&) {
    throw;
  } catch (const std::exception&) {
    throw Error(what + ": its 'model' or 'optimizer' entry is not an archive");
  }
  // The shapes first: a checkpoint of another class count or input channels is refused here,
  // not later as an out-of-bounds target deep in the loss.
  load_weights_checked(model, model_archive, what, fits);
  if (extra) {
    torch::serialize::InputArchive extra_archive;
    bool found = false;
    try {
      found = archive.try_read("kd_modules", extra_archive);
    } catch (const std::exception&) {
    }
    if (!found) throw Error(what + ": no 'kd_modules' entry (the checkpoint of a run without this KD loss's modules)");
    load_weights_checked(*extra, extra_archive, what, "the KD loss's trainable modules");
  }
  try {
    opt.load(opt_archive);
    torch::Tensor rng;
    if (!archive.try_read("rng_cpu", rng)) throw Error(what + ": no 'rng_cpu' entry");
    at::Generator cpu = at::detail::getDefaultCPUGenerator();  // a handle to the global generator
    cpu.set_state(rng);
    torch::Tensor scaler;
    if (archive.try_read("scaler", scaler)) s.scaler = scaler;
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    const auto* c10 = dynamic_cast<const c10::Error*>(&e);
    std::string msg = c10 ? c10->what_without_backtrace() : e.what();
    throw Error(what + ": cannot be restored (" + msg.substr(0, std::min(msg.find('\n'), size_t{160})) + ")");
  }
  return s;
}

}  // namespace kdprune::train
