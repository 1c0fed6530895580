#include "session.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <optional>
#include <sstream>

#include "kdprune/config/key_roles.h"
#include "kdprune/data/dataset_registry.h"
#include "kdprune/dist/job_store.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/io/metrics_log.h"
#include "kdprune/system/environment.h"
#include "kdprune/train/checkpoint.h"
#include "kdprune/train/model_file.h"
#include "kdprune/train/precision.h"
#include "kdprune/util/error.h"
#include "kdprune/util/logging.h"
#include "kdprune/version.h"

namespace kdprune::commands {
namespace {
// The config with train.amp/channels_last=auto made concrete, so that config.yaml records what
// the run does: a resumed run keeps what it started with, a new one gets the device's choice.
Config resolved(const std::string& command, const CommandOptions& opts) {
  if (opts.resume && opts.force) throw Error("--resume and --force exclude each other");
  Config c = load_config(opts.config_path, opts.overrides);
  logging::init(c.run.log_level);
  if (opts.resume)
    if (const auto started = io::RunDir::started_config(c, command)) keep_started_precision(c.train, started->train);
  train::resolve_precision(c.train, torch::Device(system::resolve_device(c.run.device)));
  return c;
}
// A data-parallel rank on CUDA takes the GPU of its LOCAL_RANK.
torch::Device pick_device(const Config& c) {
  torch::Device d(system::resolve_device(c.run.device));
  system::configure_runtime(c.run.threads, c.run.seed);
  const auto env = dist::launch_env();
  if (env.distributed() && d.is_cuda()) {
    const auto gpus = static_cast<int64_t>(torch::cuda::device_count());
    if (env.local_rank >= gpus)
      throw Error("run.device=" + c.run.device + ": this rank's LOCAL_RANK is " + std::to_string(env.local_rank) + " but this machine has " +
                  std::to_string(gpus) + " CUDA device(s); start at most one rank per GPU on each machine");
    d = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank));
  }
  return d;
}
// This rank's GPU where its CUDA tensors reduce over NCCL: where train.dist_backend asks for it or,
// with auto, where this build has it (none: over Gloo).
std::optional<torch::Device> nccl_device_for(const Config& c, const torch::Device& device) {
  const auto& backend = c.train.dist_backend;
  if (backend == "nccl" && !device.is_cuda())
    throw Error("train.dist_backend=nccl: NCCL reduces CUDA tensors, and this run is on " + device.str() +
                " (run.device=cuda, or train.dist_backend=gloo)");
  if (backend == "nccl" && !dist::Collective::nccl_available())
    throw Error("train.dist_backend=nccl: this kdprune was built without NCCL (it needs a CUDA torch wheel with its "
                "nvidia/nccl/include; docs/distributed.md), or train.dist_backend=gloo");
  if (device.is_cuda() && (backend == "nccl" || (backend == "auto" && dist::Collective::nccl_available())))
    return device;
  return std::nullopt;
}
// kdprune score scores every sample of its pool: data.val_split holds none out there (the
// students' runs, kdprune run's included, hold out their validation samples of their own subsets).
Config view_config(const std::string& command, const Config& c) {
  if (command != "score" || c.data.val_split <= 0.0) return c;
  spdlog::warn("data.val_split={} is not applied by kdprune score: scores cover every sample of the pool", c.data.val_split);
  Config x = c;
  x.data.val_split = 0.0;
  return x;
}
// Joins the data-parallel job the launcher's environment describes (none: null): its store now,
// the process group once the data are in.
std::shared_ptr<dist::JobStore> join_job() {
  const auto env = dist::launch_env();
  if (!env.distributed()) return nullptr;
  const char* t = std::getenv("KDPRUNE_DIST_TIMEOUT");
  const int64_t seconds = t && *t ? std::atoll(t) : 600;
  if (seconds <= 0) throw Error(std::string("KDPRUNE_DIST_TIMEOUT='") + t + "': expected seconds > 0");
  spdlog::info("data-parallel: joining as rank {} of {} ({}; store {}:{}{}; timeout {} s{})", env.rank, env.world,
               env.launcher, env.master_addr, env.master_port, env.agent_store ? ", torchrun's agent's" : "", seconds,
               env.socket_ifname.empty() ? "" : "; interfaces " + env.socket_ifname);
  return dist::JobStore::connect(env, std::chrono::seconds(seconds));
}
// Every rank must run the same command on the same config (the same data order, model and
// schedule); all ranks learn of a difference, and the ranks that differ say where.
void check_same_job(dist::Collective& c, const std::string& job) {
  const std::string reference = c.broadcast_string(job);
  auto differs = torch::tensor({static_cast<int64_t>(job != reference)});
  c.allreduce({differs}, dist::Reduce::max);
  if (differs.item<int64_t>() == 0) return;
  if (job == reference)
    throw Error("data-parallel: another rank was started with a different command or config than rank 0; every rank "
                "must get the same arguments");
  std::istringstream mine(job), theirs(reference);
  std::string a, b;
  while (std::getline(mine, a) && std::getline(theirs, b) && a == b) {
  }
  // train.amp/channels_last=auto are resolved on each rank's own machine (its CPU's bf16 support).
  const bool precision = a.find("amp:") != std::string::npos || a.find("channels_last:") != std::string::npos;
  throw Error("data-parallel: rank " + std::to_string(c.rank()) + " was started with a different command or config than "
              "rank 0 ('" + a + "' here, '" + b + "' on rank 0); every rank must get the same arguments" +
              (precision ? " (train.amp=auto picks by each machine's CPU: set train.amp and train.channels_last)" : ""));
}
}  // namespace

Session::Session(const std::string& command, const CommandOptions& opts, const std::function<void(const Config&)>& before_data)
    : config(resolved(command, opts)), device(pick_device(config)), command_(command), opts_(opts) {
  if (before_data) before_data(config);
  const auto env = dist::launch_env();
  if (env.distributed()) logging::set_rank(env.rank, env.world);
  const auto job = join_job();
  std::optional<torch::Device> nccl_device;
  if (job) try {
      nccl_device = nccl_device_for(config, device);
    } catch (const std::exception& e) {
      job->report_failure(e.what());  // the others stop at once
      throw;
    }
  try {
    data::RawDataset raw = data::load_dataset(config.data, config.run.seed);
    spdlog::info("dataset {} from {}: {} train / {} test images of {}x{}x{}, {} classes", raw.info.name, raw.source,
                 raw.train.n, raw.test.n, raw.train.c, raw.train.h, raw.train.w, raw.info.classes);
    view = data::select_train_view(view_config(command, config), raw.train.labels, raw.info.classes);
    data = data::to_tensors(std::move(raw), device);
  } catch (const std::exception& e) {
    if (job) job->report_failure(std::string("while loading its data: ") + e.what());  // the others stop at once
    throw;
  }
  if (job) {
    // The process group forms once every rank's data are in; a rank that failed to load has said
    // so in the store, and this one stops now rather than after the timeout.
    job->wait_all_ready("loaded its data");
    // Gloo first: the ranks check they run the same job (train.dist_backend included) before NCCL forms.
    collective_ = dist::Collective::over_store(job->store(), env.rank, env.world, job->timeout(), env.socket_ifname);
    // The data folder may be a per-node copy (a different path): the data are compared by their
    // sizes instead. train.dist_backend=auto decides by the build: the decision is compared too.
    Config c = config;
    c.data.root.clear(), c.data.imagefolder.cache.clear();
    check_same_job(*collective_, command_ + (opts_.resume ? " --resume" : "") + (opts_.force ? " --force" : "") +
                                     "\ndata: " + std::to_string(data.train.size()) + " train, " +
                                     std::to_string(data.test.size()) + " test, " + std::to_string(data.info.classes) +
                                     " classes\nCUDA tensors over: " + (nccl_device ? "nccl" : "gloo") + "\n" +
                                     to_yaml(c));
    if (nccl_device) collective_->use_nccl(*nccl_device);
    if (device.is_cuda()) spdlog::info("data-parallel: CUDA tensors reduce over {}", collective_->backend_name(device));
  }
}

namespace {
// The keys that choose a run's training view out of the loaded dataset (and its order and draws),
// and those each student of a group sets for itself: the view and per_student roles of the schema.
void clear_view_keys(Config& c) { copy_keys(c, Config{}, key_role::view); }
// The keys each student of a group sets for itself, copied from `from` (so comparisons skip them).
void take_student_keys(Config& c, const Config& from) { copy_keys(c, from, key_role::per_student); }
bool same_view(const Config& a, const Config& b) {
  Config x = a;
  take_student_keys(x, b);
  return to_yaml(x) == to_yaml(b);
}
}  // namespace

bool trainable_together(const Config& a, const Config& b) {
  Config x = a, y = b;
  clear_view_keys(x), clear_view_keys(y);
  take_student_keys(x, y);
  // The synthetic dataset is drawn from data.synthetic.seed (-1: run.seed); every other dataset is
  // the same for every seed.
  auto data_seed = [](const Config& c) { return c.data.synthetic.seed >= 0 ? c.data.synthetic.seed : c.run.seed; };
  if (x.data.name == "synthetic" && data_seed(x) != data_seed(y)) return false;
  x.run.seed = y.run.seed, x.data.synthetic.seed = y.data.synthetic.seed;
  return to_yaml(x) == to_yaml(y);
}

Session::Session(const std::string& command, const CommandOptions& opts, const Session& share)
    : config(resolved(command, opts)), device(share.device), data(share.data), view(share.view), command_(command), opts_(opts) {
  if (!trainable_together(share.config, config))
    throw Error("run '" + config.run.name + "' cannot train together with '" + share.config.run.name +
                "': they differ in the dataset or the run's device/threads (only kd.*, model.*, train.*, run.name, "
                "run.seed, prune.* and data's view keys may differ)");
  // The same global RNG state as a session of its own: the model's initial weights are too.
  system::configure_runtime(config.run.threads, config.run.seed);
  if (!same_view(share.config, config)) {
    const auto labels = data.train.labels.to(torch::kCPU, torch::kInt64).contiguous();
    const std::vector<int64_t> y(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + labels.numel());
    view = data::select_train_view(view_config(command, config), y, data.info.classes);
  }
}

models::ModelSpec Session::model_spec() const { return {data.channels(), data.info.classes, data.train.images.size(2)}; }

train::ModelMeta Session::model_meta() const {
  return {config.model.arch, model_spec(), data.info.name, data.info.mean, data.info.std};
}

models::Model Session::create_model() const {
  if (config.model.init.empty()) return models::create_model(config.model.arch, model_spec());
  // model.init: the weights to start from, a kdprune model.pt or a PyTorch state_dict file.
  const train::ModelExpectation expect{config.model.arch, "model.arch", model_spec(), data.info.name};
  train::LoadedModel loaded = train::load_model(config.model.init, device, &expect);
  const auto spec = model_spec();
  if (loaded.meta.spec.in_channels != spec.in_channels || loaded.meta.spec.classes != spec.classes)
    throw Error("model.init '" + config.model.init + "': a " + loaded.meta.arch + " for " +
                std::to_string(loaded.meta.spec.in_channels) + " input channels and " +
                std::to_string(loaded.meta.spec.classes) + " classes; dataset " + data.info.name + " has " +
                std::to_string(spec.in_channels) + " and " + std::to_string(spec.classes));
  spdlog::info("model.init: {} weights from {}", loaded.meta.arch, config.model.init);
  return loaded.model;
}

bool Session::writes() const { return !collective_ || collective_->rank() == 0; }

void Session::start_run() {
  if (!writes()) {  // rank 0 opens the directory; this rank follows once it exists
    collective_->barrier();
    run_.emplace(io::RunDir::follow(collective_->broadcast_string(""), command_, opts_.resume, collective_->rank()));
  } else {
    run_.emplace(opts_.resume ? io::RunDir::reopen(config, command_) : io::RunDir::create(config, command_, opts_.force));
    if (collective_) collective_->barrier(), collective_->broadcast_string(run_->path());
  }
  run_->attach_log();
  spdlog::info("kdprune {} ({}) {}: {} run directory {}", KDPRUNE_VERSION, git_commit(), command_,
               run_->resumed() ? "resuming" : "new", run_->path());
  const auto env = system::environment();
  spdlog::info("device {}, LibTorch {}, {} CPU threads ({})", device.str(), env.torch_version, env.cpu_threads,
               env.openmp_wait);
  if (config.run.adapt_threads && !device.is_cuda())
    spdlog::warn("run.adapt_threads=true: the CPU thread count follows the load of the machine, and the weights "
                 "with it (the same config and seed can give another model); summary.json records this run as "
                 "load-dependent");
  spdlog::info("training view: {} of {} samples (f = {:.4g}; {})", view.indices.size(), view.pool_size, view.f(), view.how);
  // Datasets read from image files: which file each training index is, so that scores and subsets
  // made elsewhere can be mapped by path.
  if (!data.info.train_files.empty() && writes()) {
    std::string text = "index\tpath\tlabel\n";
    const auto labels = data.train.labels.to(torch::kCPU, torch::kInt64).contiguous();
    const int64_t* y = labels.data_ptr<int64_t>();
    for (size_t i = 0; i < data.info.train_files.size(); ++i)
      text += std::to_string(i) + "\t" + data.info.train_files[i] + "\t" + std::to_string(y[i]) + "\n";
    io::write_file_atomic(run_->file("samples.txt"), text);
  }
}

namespace {
// data.val_split: validation chose the best epoch (best.pt); its test top-1, evaluated on best.pt
// as `kdprune eval` evaluates it (the run's precision), is the run's best_top1.
void test_best(const Session& s, train::TrainResult& r) {
  const std::string best = s.run().file("best.pt");
  if (!std::filesystem::exists(best)) {  // no epoch evaluated (train.epochs 0): the model as it is
    r.best_top1 = r.final_eval.top1;
    return;
  }
  train::LoadedModel loaded = train::load_model(best, s.device);
  const train::Precision p = train::resolved_precision(s.config.train, s.device);
  if (p.channels_last) train::to_channels_last(*loaded.model);
  const auto e = train::evaluate(*loaded.model, s.data.test, s.data.info, s.config.train.eval_batch_size, p.amp, p.channels_last);
  r.best_top1 = e.top1;
  spdlog::info("best epoch {} by validation top1 {:.2f}%: test top1 {:.2f}% top5 {:.2f}% (best.pt)", r.best_epoch,
               r.best_val_top1, e.top1, e.top5);
}
}  // namespace

std::vector<train::TrainResult> run_training_together(const std::vector<TrainingJob>& jobs) {
  std::vector<std::unique_ptr<io::MetricsLog>> metrics;
  std::vector<train::TrainInputs> runs;
  std::vector<std::string> names;
  for (const auto& j : jobs) {
    Session& s = *j.session;
    const auto& cfg = s.config;
    const std::string checkpoint = s.run().file("checkpoint.pt");
    // A resumed run's metrics continue after the checkpoint's epoch; later rows were lost work.
    const int64_t done = s.run().resumed() ? train::checkpoint_epochs_done(checkpoint) : 0;
    // Data-parallel: rank 0 writes the metrics (the other ranks' rows would be the same).
    metrics.push_back(s.writes() ? std::make_unique<io::MetricsLog>(s.run().path(), train::metrics_columns(!s.view.val.empty()), done)
                                 : nullptr);
    runs.push_back({.model = *j.model,
                    .data = s.data,
                    .indices = s.view.indices,
                    .train = cfg.train,
                    .augment = cfg.data.augment,
                    .seed = cfg.run.seed,
                    .metrics = metrics.back().get(),
                    .log_every_steps = cfg.run.log_every_steps,
                    .validation = s.view.val,
                    .checkpoint_path = checkpoint,
                    .resume = s.run().resumed(),
                    .loss = j.loss,
                    .prelude = j.prelude,
                    .loss_modules = j.loss_modules,
                    .observers = j.observers,
                    // best.pt: the model of the best evaluated epoch, as RepDistiller's best.pth
                    // (by test top-1; with data.val_split, by validation top-1)
                    .on_best = [&s, model = j.model](int64_t) {
                      train::save_model(s.run().file("best.pt"), model, s.model_meta());
                    },
                    .loss_capturable = j.loss_capturable,
                    .adapt_threads = cfg.run.adapt_threads,
                    .collective = s.collective()});
    names.push_back(cfg.run.name);
  }
  auto results = train::fit_group(runs, names);
  for (size_t i = 0; i < jobs.size(); ++i) {
    const auto& j = jobs[i];
    if (!results[i].error.empty() || !j.session->writes()) continue;  // stopped early: no model files (its checkpoint stays)
    if (results[i].best_by_val) test_best(*j.session, results[i]);
    train::save_model(j.session->run().file("model.pt"), j.model, j.session->model_meta());
    // model.pth: the same weights for PyTorch, torch.load(path, weights_only=True).
    train::export_pytorch(j.session->run().file("model.pth"), j.model, j.session->model_meta());
  }
  return results;
}

train::TrainResult run_training(Session& s, const models::Model& model, const train::LossFn& loss,
                                std::vector<train::TrainObserver*> observers,
                                std::shared_ptr<torch::nn::Module> loss_modules, bool loss_capturable) {
  return run_training_together({{&s, model, loss, std::move(loss_modules), loss_capturable, std::move(observers)}}).front();
}

Inference infer(models::ModelImpl& model, const data::TensorDataset& d, const torch::Tensor& indices, int64_t batch) {
  model.eval();
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> logits, emb;
  const data::Normalizer normalise(d.info, indices.device());
  for (int64_t s = 0; s < indices.size(0); s += batch) {
    const auto idx = indices.slice(0, s, std::min(indices.size(0), s + batch));
    const auto out = model.forward_all(normalise(data::plain_images(d.train, idx)));
    logits.push_back(out.logits.to(torch::kFloat32));
    emb.push_back(out.embedding.to(torch::kFloat32));
  }
  return {torch::cat(logits), torch::cat(emb)};
}

nlohmann::json training_summary(const Session& s, const models::Model& model, const train::TrainResult& r) {
  return {
      {"dataset", s.data.info.name},
      {"arch", s.config.model.arch},
      {"parameters", models::parameter_count(*model)},
      {"f", s.view.f()},
      {"subset_size", s.view.indices.size() + s.view.val.size()},  // the validation samples are part of the subset
      {"val_size", s.view.val.size()},
      {"pool_size", s.view.pool_size},
      {"train_size", s.data.train.size()},
      {"view", s.view.how},
      {"seed", s.config.run.seed},
      {"epochs", r.epochs},
      {"amp", s.config.train.amp.name()},
      {"channels_last", s.config.train.channels_last == "true"},
      {"top1", r.final_eval.top1},
      {"top5", r.final_eval.top5},
      {"test_loss", r.final_eval.loss},
      // best_top1: the test top-1 of the best epoch, chosen on the test split (RepDistiller) or,
      // with data.val_split, on the validation samples (best_val_top1)
      {"best_top1", r.best_top1},
      {"best_epoch", r.best_epoch},
      {"best_chosen_by", r.best_by_val ? "validation" : "test"},
      {"best_val_top1", r.best_by_val ? nlohmann::json(r.best_val_top1) : nlohmann::json(nullptr)},
      {"images_per_second", r.images_per_second},
      {"train_seconds", r.train_seconds},
      {"resumed_from_epoch", r.resumed_from},
      {"device", s.device.str()},
      // false when the thread count followed the machine's load (run.adapt_threads on the CPU)
      {"reproducible", !(s.config.run.adapt_threads && !s.device.is_cuda())},
      {"environment", system::environment_json()},
      {"model_file", s.run().file("model.pt")},
      {"pytorch_model_file", s.run().file("model.pth")},
      {"best_model_file", std::filesystem::exists(s.run().file("best.pt")) ? nlohmann::json(s.run().file("best.pt"))
                                                                             : nlohmann::json(nullptr)},
      {"checkpoint_file", s.run().file("checkpoint.pt")},
  };
}

}  // namespace kdprune::commands
