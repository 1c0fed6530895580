#pragma once
// The registry of `kdprune score` methods (score.method). A scorer is one file,
// src/scoring/methods/<name>.cpp defining `Scorer <name>_scorer()`, and one line in
// include/kdprune/prune/scorer_list.h (its name and description, which kdprune_base reads too).
// commands/score.cpp trains the models; a scorer says what to record during training and how the
// record and the trained model become per-sample scores.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kdprune/config/config.h"
#include "kdprune/data/tensor_dataset.h"
#include "kdprune/models/model.h"
#include "kdprune/train/trainer.h"

namespace kdprune::scoring {

// A trained model's outputs on the pool (un-augmented, eval mode, no gradients), in pool order.
struct PoolOutputs {
  torch::Tensor logits, embedding;
};

// What one model's scoring reads.
struct ScoreContext {
  const Config& config;
  const data::TensorDataset& data;
  torch::Device device;
  int64_t n = 0;         // training-set size: observers index samples by dataset index
  torch::Tensor pool{};    // the scored dataset indices (int64, on the device)
  torch::Tensor labels{};  // their labels
  std::function<PoolOutputs(models::ModelImpl&)> infer{};
};

// What finish gives: per-pool-sample scores (higher = harder), and values written beside them.
struct Scored {
  torch::Tensor scores{};
  std::map<std::string, torch::Tensor> extras{};  // name -> per-pool-sample values (Scorer::extra_files)
};

// One model's scoring: observers attached to its training run (possibly none), then finish.
struct ModelScoring {
  std::vector<std::shared_ptr<train::TrainObserver>> observers{};
  std::function<Scored(models::ModelImpl& model)> finish{};
};

enum class Strategy {
  per_model,     // score.models models on the whole pool, each scored by `make`, scores averaged
  subset_models  // memorization: models on random r-subsets of the pool, in shards (commands/score.cpp)
};

struct Scorer {
  std::string name{};
  std::string description{};
  Strategy strategy = Strategy::per_model;
  bool needs_epochs = false;    // refuses score.epochs = 0 (it records training)
  bool inference_pass = true;   // one pass over the pool after training (passes_over_data)
  // The scores are a function of one trained model alone (its outputs or gradients on the pool,
  // un-augmented, eval mode): `make` attaches no observers and `finish` reads only the model, so
  // score.checkpoint may give that model instead of a training run (commands/score.cpp).
  bool one_model = false;
  // Extras averaged over the models and written beside the scores as <name>.npy, named in
  // scores.json as <name>_file (DUAL's mean_prob, which Beta sampling reads).
  std::vector<std::string> extra_files{};
  // Checks of score.* this method alone needs, before any directory exists (may be empty).
  std::function<void(const ScoreSection&)> check{};
  // The score.* settings recorded in scores.json (keys other methods record are null).
  std::function<nlohmann::json(const ScoreSection&)> settings{};
  // Strategy::per_model: one model's scoring pieces.
  std::function<ModelScoring(const ScoreContext&)> make{};
};

// Every scorer, in the order of prune/scorer_list.h.
const std::vector<Scorer>& scorer_registry();
// The scorer named `name`, or kdprune::Error
// "score.method: unknown method '<name>' (expected one of: forgetting, el2n, ...)".
const Scorer& find_scorer(const std::string& name);

}  // namespace kdprune::scoring
