#pragma once
// The start every training subcommand shares: resolve the config, pick the device, load the
// dataset onto it, select the training view; then (after the command's own checks) open the run
// directory and its log. Bad input fails before any directory exists.
#include <torch/torch.h>

#include <functional>
#include <optional>

#include "kdprune/commands/commands.h"
#include "kdprune/data/tensor_dataset.h"
#include "kdprune/dist/collective.h"
#include "kdprune/data/train_view.h"
#include "kdprune/io/run_dir.h"
#include "kdprune/models/model.h"
#include "kdprune/train/model_file.h"
#include "kdprune/train/trainer.h"

namespace kdprune::commands {

class Session {
 public:
  // `before_data`: the command's checks of its config that need no data (a missing kd.teacher),
  // run before the dataset loads.
  Session(const std::string& command, const CommandOptions& opts,
          const std::function<void(const Config&)>& before_data = {});
  // A student trained together with `share`'s (train::fit_group): the same dataset, not loaded
  // again, and its own training view (share's where the view keys agree). Its config may differ
  // from share's only as trainable_together allows (else kdprune::Error naming both runs).
  Session(const std::string& command, const CommandOptions& opts, const Session& share);

  // Creates (or, with --resume, re-opens) the run directory and starts logging into it. In a
  // data-parallel job rank 0 does, and the other ranks follow it (io::RunDir::follow).
  void start_run();
  // The data-parallel job this process is a rank of (launcher environment, dist/launch_env.h);
  // null when it runs alone.
  dist::Collective* collective() const { return collective_.get(); }
  bool writes() const;  // this process writes the run's files (not a data-parallel rank other than 0)
  const io::RunDir& run() const { return *run_; }

  const Config config;
  const torch::Device device;
  data::TensorDataset data;
  data::TrainView view;
  models::ModelSpec model_spec() const;
  train::ModelMeta model_meta() const;
  // The model.arch to train, with the weights of model.init if set (checked against the dataset).
  models::Model create_model() const;

 private:
  std::string command_;
  CommandOptions opts_;
  std::optional<io::RunDir> run_;
  std::shared_ptr<dist::Collective> collective_;
};

// Configs that may train together in one process (one dataset in memory): equal apart from kd.*,
// model.*, train.*, run.name, prune.*, the view's data keys (fraction, subset, split, split_seed,
// part, augment) and run.seed (unless the dataset is drawn from it: synthetic without data.synthetic.seed).
bool trainable_together(const Config& a, const Config& b);

// One model to train in its session (run directory), for run_training_together.
struct TrainingJob {
  Session* session;
  models::Model model;
  train::LossFn loss;
  std::shared_ptr<torch::nn::Module> loss_modules;
  bool loss_capturable = false;  // opt-in, as TrainInputs::loss_capturable
  std::vector<train::TrainObserver*> observers{};
  std::shared_ptr<train::BatchPrelude> prelude{};  // as TrainInputs::prelude
};
// run_training for students trained together in lock-step (train::fit_group): one batch per step,
// each its own run directory, metrics, checkpoints and model files. A student stopped by a
// non-finite loss has TrainResult::error set and no model files.
std::vector<train::TrainResult> run_training_together(const std::vector<TrainingJob>& jobs);

// Trains `model` on the session's view with `loss`: metrics.csv, checkpoint.pt every
// train.checkpoint_every epochs (resumed with --resume), model.pt at the end.
// `loss_modules`: what the loss trains with the model (feature-KD regressors), or null.
// `loss_capturable`: the loss can be captured in a CUDA graph (TrainInputs::loss_capturable).
train::TrainResult run_training(Session& s, const models::Model& model, const train::LossFn& loss,
                                std::vector<train::TrainObserver*> observers = {},
                                std::shared_ptr<torch::nn::Module> loss_modules = nullptr, bool loss_capturable = false);

// A model's outputs on training samples `indices` (un-augmented, eval mode, no gradients).
struct Inference {
  torch::Tensor logits, embedding;  // float32, in the order of `indices`
};
Inference infer(models::ModelImpl& model, const data::TensorDataset& d, const torch::Tensor& indices, int64_t batch);

// The summary fields every training run shares.
nlohmann::json training_summary(const Session& s, const models::Model& model, const train::TrainResult& r);

}  // namespace kdprune::commands
