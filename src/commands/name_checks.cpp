#include "kdprune/commands/name_checks.h"

#include <algorithm>
#include <string>
#include <vector>

#include "kdprune/data/dataset_registry.h"
#include "kdprune/losses/kd_loss.h"
#include "kdprune/models/model.h"
#include "kdprune/prune/pruner_registry.h"
#include "kdprune/scoring/scorer_registry.h"
#include "kdprune/util/error.h"

namespace kdprune::commands {
namespace {
template <class Registry> std::vector<std::string> names(const Registry& registry) {
  std::vector<std::string> v;
  for (const auto& e : registry) v.push_back(e.name);
  return v;
}
void check(const std::string& key, const std::string& value, const std::vector<std::string>& known) {
  if (std::find(known.begin(), known.end(), value) != known.end()) return;
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  throw Error(key + ": unknown name '" + value + "' (expected one of: " + list + ")");
}

// The scorers whose scores are a function of one model, "a, b or c" (for messages).
std::string one_model_scorers() {
  std::vector<std::string> names;
  for (const auto& sc : scoring::scorer_registry())
    if (sc.one_model) names.push_back(sc.name);
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return s;
}
}  // namespace

void check_score_checkpoint(const ScoreSection& sc) {
  if (sc.checkpoint.empty()) return;
  const auto& scorer = scoring::find_scorer(sc.method);
  if (!scorer.one_model)
    throw Error("score.checkpoint: " + sc.method + " is not a function of one model (it needs " +
                (scorer.strategy == scoring::Strategy::subset_models ? std::string("models trained on subsets of the pool")
                                                                    : std::string("its model's training run")) +
                "); a checkpoint can be scored by " + one_model_scorers());
  if (sc.models != 1)
    throw Error("score.models: score.checkpoint is one model, so there is nothing to average over; set score.models=1 "
                "(it is " + std::to_string(sc.models) + "), or score several checkpoints and average the scores.npy files");
  if (sc.save_models) throw Error("score.save_models: with score.checkpoint the model is that file already; unset one");
}

void check_registered_names(const Config& c, const NamesRead& read) {
  check("data.name", c.data.name, names(data::dataset_registry()));
  if (read.model) check("model.arch", c.model.arch, models::model_names());
  if (read.kd) {
    check("kd.loss", c.kd.loss, names(losses::kd_loss_registry()));
    if (!c.kd.extra.empty()) check("kd.extra", c.kd.extra, names(losses::kd_loss_registry()));
  }
  if (read.prune && c.prune.scores.empty()) check("prune.method", c.prune.method, names(prune::pruner_registry()));
  if (read.score) {
    check("score.method", c.score.method, names(scoring::scorer_registry()));
    check_score_checkpoint(c.score);
  }
}

}  // namespace kdprune::commands
