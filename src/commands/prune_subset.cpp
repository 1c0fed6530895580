#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "kdprune/commands/commands.h"
#include "kdprune/scoring/knn.h"
#include "kdprune/prune/pool.h"
#include "kdprune/prune/pruner_registry.h"
#include "kdprune/prune/sampling.h"
#include "kdprune/prune/stratified.h"
#include "kdprune/system/environment.h"
#include "kdprune/train/model_file.h"
#include "session.h"
#include "kdprune/data/dataset_registry.h"
#include "kdprune/data/train_view.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/io/npy.h"
#include "kdprune/io/run_dir.h"
#include "kdprune/prune/score_selection.h"
#include "kdprune/prune/selection.h"
#include "kdprune/util/error.h"
#include "kdprune/util/logging.h"

namespace kdprune::commands {

namespace {

// The pool left after the CCS/D2 cut-off: the prune.cutoff share with the lowest AUM (the reference
// code's rule; from aum.npy beside the scores or prune.aum) or with the highest selection score.
struct CutOff {
  std::vector<int64_t> kept;
  std::string by;        // "aum" | "score" | "" (no cut-off)
  std::string aum_file;
};
CutOff cut_off(const PruneSection& p, const std::string& scores_path, const std::vector<int64_t>& pool,
               const std::vector<double>& scores, int64_t k, int64_t n) {
  CutOff c;
  const std::string beside = (std::filesystem::path(scores_path).parent_path() / "aum.npy").string();
  const std::string aum_path = !p.aum.empty() ? p.aum : std::filesystem::exists(beside) ? beside : "";
  std::string by = p.cutoff_by;
  if (by == "auto") by = aum_path.empty() ? "score" : "aum";
  if (p.cutoff <= 0) {
    c.kept = pool;
    return c;
  }
  if (by == "aum" && aum_path.empty())
    throw Error("prune.cutoff_by=aum: no AUM file (expected " + beside + ", written by `kdprune score`, or prune.aum=FILE)");
  c.by = by;
  if (by == "aum") {
    c.aum_file = aum_path;
    std::vector<double> aum;
    try {
      aum = prune::read_scores(aum_path, n);
    } catch (const Error& e) {
      throw Error("prune.aum (the cut-off of prune.cutoff_by=" + p.cutoff_by + "): " + e.what());
    }
    c.kept = prune::drop_lowest(pool, aum, p.cutoff, k);
  } else {
    c.kept = prune::drop_hardest(pool, scores, p.cutoff, k);
  }
  spdlog::info("cut-off: dropped {} of {} samples ({} {})", pool.size() - c.kept.size(), pool.size(),
               by == "aum" ? "lowest AUM from" : "highest score", by == "aum" ? aum_path : scores_path);
  return c;
}

// prune.model's embeddings as kNN graphs (the rules that read a model: D2). The model is loaded
// and checked now, so a bad prune.model fails whatever the pool; the dataset goes to the device at
// the first graph.
prune::KnnFn model_knn(const Config& cfg, const data::RawDataset& ds) {
  const auto& p = cfg.prune;
  if (p.model.empty())
    throw Error("prune.model: D2 needs the model.pt whose embeddings build the kNN graph (a train-teacher run, or a score run with score.save_models=true)");
  const torch::Device device(system::resolve_device(cfg.run.device));
  system::configure_runtime(cfg.run.threads, cfg.run.seed);
  const train::ModelExpectation expect{"", "", {ds.train.c, ds.info.classes, ds.train.h}, ds.info.name};
  auto loaded = std::make_shared<train::LoadedModel>(train::load_model(p.model, device, &expect));
  if (!loaded->meta.dataset.empty() && loaded->meta.dataset != ds.info.name)
    throw Error("prune.model '" + p.model + "' was trained on " + loaded->meta.dataset + ", the data is " + ds.info.name);
  if (loaded->meta.spec.in_channels != ds.train.c)
    throw Error("prune.model '" + p.model + "' takes " + std::to_string(loaded->meta.spec.in_channels) +
                " input channels, the data has " + std::to_string(ds.train.c));
  auto tensors = std::make_shared<std::optional<data::TensorDataset>>();
  const int64_t batch = cfg.train.eval_batch_size;
  return [loaded, tensors, device, batch, &ds](const std::vector<int64_t>& nodes, int64_t knn) {
    if (!tensors->has_value()) tensors->emplace(data::to_tensors(data::RawDataset(ds), device));
    const auto idx = torch::tensor(nodes, torch::kInt64).to(device);
    return prune::knn_graph(commands::infer(*loaded->model, **tensors, idx, batch).embedding, knn);
  };
}

// The names of the rules that honour prune.class_balanced, "a or b" (for the message).
std::string class_balanced_rules() {
  std::string s;
  for (const auto& r : prune::sampling_registry())
    if (r.class_balanced) s += (s.empty() ? "" : " or ") + r.name;
  return s;
}

}  // namespace

nlohmann::json prune_subset(const CommandOptions& opts, const std::string& scores_arg) {
  if (opts.resume) throw Error("prune has nothing to resume; rerun it (it is deterministic)");
  const Config cfg = load_config(opts.config_path, opts.overrides);
  logging::init(cfg.run.log_level);
  const auto& p = cfg.prune;
  const std::string scores_path = scores_arg.empty() ? p.scores : scores_arg;
  // Scores select; a score-free method asked for beside them would be silently ignored.
  const bool method_asked = std::any_of(opts.overrides.begin(), opts.overrides.end(),
                                        [](const std::string& o) { return o.rfind("prune.method=", 0) == 0; });
  const prune::PrunerEntry* pruner = prune::find_pruner(p.method);
  const bool score_free = pruner && !pruner->needs_scores;
  if (!scores_path.empty() && score_free && (method_asked || p.method != PruneSection{}.method))
    throw Error("prune.method=" + p.method + " selects without scores, but scores were given ('" + scores_path +
                "'): drop one (for class-balanced selection by score: prune.class_balanced=true)");
  const data::RawDataset ds = data::load_dataset(cfg.data, cfg.run.seed);
  const auto& labels = ds.train.labels;
  const int64_t n = ds.train.n;

  // The pool: the whole training set, or one part of a disjoint split.
  DataSection pool_sel = cfg.data;
  pool_sel.fraction = 1.0;
  pool_sel.subset.clear();
  const std::vector<int64_t> pool = data::select_train_indices(pool_sel, n, cfg.run.seed);
  const int64_t k = prune::kept_count(p.fraction, static_cast<int64_t>(pool.size()));
  const std::vector<int64_t> quota =
      prune::class_quotas(prune::pool_class_sizes(pool, labels, ds.info.classes), k, p.fraction, p.class_shares);

  std::vector<int64_t> subset;
  std::string method = p.method;
  // DUAL scores carry their mean true-class probabilities beside them (or name them in prune.mean_prob).
  const std::string default_mean_prob =
      scores_path.empty() ? "" : (std::filesystem::path(scores_path).parent_path() / "mean_prob.npy").string();
  std::string sampling = p.sampling;
  if (sampling == "auto") {
    const bool dual = !scores_path.empty() && (!p.mean_prob.empty() || std::filesystem::exists(default_mean_prob));
    sampling = prune::auto_sampling(dual, p.fraction, p.level, p.class_balanced);
    if (dual) spdlog::info("prune.sampling=auto: DUAL scores at f = {} -> {}", p.fraction, sampling);
  }
  const prune::SamplingRule& rule = prune::sampling_rule(sampling);
  if (rule.reads.scores && scores_path.empty())
    throw Error("prune.sampling=" + sampling + ": needs scores (--scores FILE or prune.scores=FILE)");
  if (!rule.class_balanced && p.class_balanced)
    throw Error("prune.class_balanced: only with prune.sampling=" + class_balanced_rules() + " (" + sampling +
                " selects over the whole pool)");
  CutOff cut;
  if (!scores_path.empty()) {
    const std::vector<double> scores = prune::read_scores(scores_path, n, p.scores_order);
    prune::check_scores_pool(scores_path, pool, cfg.data);
    method = "scores";
    // What the rule reads, fetched in this order: the cut-off, the mean probabilities, the model.
    prune::SamplingInputs in{.prune = p, .pool = pool, .labels = labels, .classes = ds.info.classes, .k = k,
                             .quota = quota, .scores = scores};
    if (rule.reads.cutoff) {
      cut = cut_off(p, scores_path, pool, scores, k, n);
      in.kept = cut.kept;
    }
    if (rule.reads.mean_prob) {
      const std::string mean_prob_path = p.mean_prob.empty() ? default_mean_prob : p.mean_prob;
      if (!std::filesystem::exists(mean_prob_path))
        throw Error("prune.mean_prob: '" + mean_prob_path + "' not found (Beta sampling needs the mean true-class "
                    "probabilities that `kdprune score score.method=dual` writes beside its scores)");
      in.mean_prob = prune::read_probabilities(mean_prob_path, n);
    }
    if (rule.reads.model) in.knn = model_knn(cfg, ds);
    subset = rule.select(in);
  } else if (pruner && pruner->select) {
    subset = pruner->select({.pool = pool, .labels = labels, .quota = quota, .k = k, .seed = p.seed,
                             .class_balanced = p.class_balanced});
  } else {
    throw Error("prune.method=" + p.method + ": needs scores (--scores FILE or prune.scores=FILE, e.g. from `kdprune "
                "score`); score-free methods are " + prune::score_free_names());
  }

  io::RunDir run = io::RunDir::create(cfg, "prune", opts.force);
  run.attach_log();
  io::write_npy_i64(run.file("subset.npy"), subset);
  std::vector<int64_t> per_class(static_cast<size_t>(ds.info.classes), 0);
  for (int64_t i : subset) ++per_class[static_cast<size_t>(labels[static_cast<size_t>(i)])];
  const bool class_balanced = p.class_balanced || (pruner && pruner->class_balanced);
  nlohmann::json info = {
      {"dataset", ds.info.name},
      {"f", p.fraction},
      {"subset_size", subset.size()},
      {"pool_size", pool.size()},
      {"train_size", n},
      {"method", method},
      {"scores", scores_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(scores_path)},
      {"sampling", scores_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(sampling)},
      {"sampling_requested", scores_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.sampling)},
      {"cutoff_by", cut.by.empty() ? nlohmann::json(nullptr) : nlohmann::json(cut.by)},
      {"aum", cut.aum_file.empty() ? nlohmann::json(nullptr) : nlohmann::json(cut.aum_file)},
      {"scores_order", p.scores_order.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.scores_order)},
      {"class_shares", class_balanced ? nlohmann::json(p.class_shares) : nlohmann::json(nullptr)},
      {"class_balanced", class_balanced},
      {"seed", p.seed},
      {"part", cfg.data.part},
      {"per_class", per_class},
      {"subset_file", run.file("subset.npy")},
  };
  // Every rule's own fields, null unless this selection's rule wrote them.
  for (const auto& r : prune::sampling_registry()) {
    const nlohmann::json fields = r.record(p);  // items() refers to it: keep it alive
    for (const auto& field : fields.items())
      if (!info.contains(field.key())) info[field.key()] = nullptr;
  }
  if (!scores_path.empty()) info.update(rule.record(p));
  io::write_file_atomic(run.file("subset.json"), info.dump(2) + "\n");
  run.write_summary(info);
  spdlog::info("kept {} of {} samples (f = {}, {}{}) -> {}", subset.size(), pool.size(), p.fraction, method,
               scores_path.empty() ? "" : (!info["level"].is_null() ? ", level " + p.level : ", sampling " + sampling),
               run.file("subset.npy"));
  return info;
}

}  // namespace kdprune::commands
