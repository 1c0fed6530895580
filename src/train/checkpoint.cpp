#include "kdprune/train/checkpoint.h"

#include <filesystem>

#include "kdprune/io/atomic_file.h"
#include "kdprune/util/error.h"

namespace kdprune::train {

void save_checkpoint(const std::string& path, models::ModelImpl& model, torch::optim::Optimizer& opt,
                     const TrainState& state) {
  io::write_via_temp(path, [&](const std::string& tmp) {
    torch::serialize::OutputArchive archive, model_archive, opt_archive;
    model.save(model_archive);
    opt.save(opt_archive);
    archive.write("model", model_archive);
    archive.write("optimizer", opt_archive);
    archive.write("epochs_done", c10::IValue(state.epochs_done));
    archive.write("best_top1", c10::IValue(state.best_top1));
    archive.write("best_epoch", c10::IValue(state.best_epoch));
    archive.write("rng_cpu", at::detail::getDefaultCPUGenerator().get_state());
    if (state.scaler.defined()) archive.write("scaler", state.scaler);
    archive.save_to(tmp);
  });
}

int64_t checkpoint_epochs_done(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) return 0;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, torch::Device(torch::kCPU));
    c10::IValue v;
    archive.read("epochs_done", v);
    return v.toInt();
  } catch (const c10::Error& e) {
    throw Error("checkpoint '" + path + "': unreadable (" + std::string(e.what_without_backtrace()).substr(0, 160) + ")");
  }
}

TrainState load_checkpoint(const std::string& path, models::ModelImpl& model, torch::optim::Optimizer& opt) {
  if (!std::filesystem::is_regular_file(path)) throw Error("checkpoint '" + path + "': not found");
  TrainState s;
  try {
    torch::serialize::InputArchive archive, model_archive, opt_archive;
    archive.load_from(path, model.parameters().empty() ? torch::Device(torch::kCPU) : model.parameters()[0].device());
    archive.read("model", model_archive);
    archive.read("optimizer", opt_archive);
    model.load(model_archive);
    opt.load(opt_archive);
    c10::IValue v;
    archive.read("epochs_done", v);
    s.epochs_done = v.toInt();
    archive.read("best_top1", v);
    s.best_top1 = v.toDouble();
    archive.read("best_epoch", v);
    s.best_epoch = v.toInt();
    torch::Tensor rng;
    archive.read("rng_cpu", rng);
    at::Generator cpu = at::detail::getDefaultCPUGenerator();  // a handle to the global generator
    cpu.set_state(rng);
    torch::Tensor scaler;
    if (archive.try_read("scaler", scaler)) s.scaler = scaler;
  } catch (const c10::Error& e) {
    throw Error("checkpoint '" + path + "': cannot be restored (" +
                std::string(e.what_without_backtrace()).substr(0, 160) + ")");
  }
  return s;
}

}  // namespace kdprune::train
