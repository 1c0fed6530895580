#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "kdprune/commands/commands.h"
#include "kdprune/prune/d2.h"
#include "kdprune/prune/knn.h"
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

// D2: the kNN graph over the embeddings of prune.model (after dropping the prune.cutoff hardest),
// forward message passing of the scores, greedy reverse message-passing selection.
std::vector<int64_t> d2_selection(const Config& cfg, const data::RawDataset& ds, const std::vector<int64_t>& pool,
                                  const std::vector<double>& scores, int64_t k) {
  const auto& p = cfg.prune;
  if (p.model.empty())
    throw Error("prune.model: D2 needs the model.pt whose embeddings build the kNN graph (a train-teacher or score run)");
  const torch::Device device(system::resolve_device(cfg.run.device));
  system::configure_runtime(cfg.run.threads, cfg.run.seed);
  auto loaded = train::load_model(p.model, device);
  if (loaded.meta.dataset != ds.info.name)
    throw Error("prune.model '" + p.model + "' was trained on " + loaded.meta.dataset + ", the data is " + ds.info.name);
  const std::vector<int64_t> nodes = prune::drop_hardest(pool, scores, p.cutoff, k);
  const int64_t cut = static_cast<int64_t>(pool.size() - nodes.size());
  if (static_cast<int64_t>(nodes.size()) <= k) return nodes;
  const data::TensorDataset data = data::to_tensors(data::RawDataset(ds), device);
  const auto idx = torch::tensor(nodes, torch::kInt64).to(device);
  const auto emb = commands::infer(*loaded.model, data, idx, cfg.train.eval_batch_size).embedding;
  const auto t0 = std::chrono::steady_clock::now();
  const prune::KnnGraph g = prune::knn_graph(emb, p.knn);
  std::vector<double> s;
  for (int64_t i : nodes) s.push_back(scores[static_cast<size_t>(i)]);
  const auto forward = prune::d2_forward(g, s, p.d2_gamma);
  const auto picks = prune::d2_greedy(g, forward, k, p.d2_beta);
  spdlog::info("d2: {} nodes, k = {}, gamma = {}, beta = {}, cut-off {} -> {} picks in {:.1f} s", nodes.size(), p.knn,
               p.d2_gamma, p.d2_beta, cut, picks.size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  std::vector<int64_t> out;
  for (int64_t i : picks) out.push_back(nodes[static_cast<size_t>(i)]);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

nlohmann::json prune_subset(const CommandOptions& opts, const std::string& scores_arg) {
  if (opts.resume) throw Error("prune has nothing to resume; rerun it (it is deterministic)");
  const Config cfg = load_config(opts.config_path, opts.overrides);
  logging::init(cfg.run.log_level);
  const auto& p = cfg.prune;
  const std::string scores_path = scores_arg.empty() ? p.scores : scores_arg;
  const data::RawDataset ds = data::load_dataset(cfg.data, cfg.run.seed);
  const auto& labels = ds.train.labels;
  const int64_t n = ds.train.n;

  // The pool: the whole training set, or one part of a disjoint split.
  DataSection pool_sel = cfg.data;
  pool_sel.fraction = 1.0;
  pool_sel.subset.clear();
  const std::vector<int64_t> pool = data::select_train_indices(pool_sel, n, cfg.run.seed);
  const int64_t k = prune::kept_count(p.fraction, static_cast<int64_t>(pool.size()));

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
  if (sampling != "topk" && scores_path.empty())
    throw Error("prune.sampling=" + sampling + ": needs scores (--scores FILE or prune.scores=FILE)");
  if (sampling != "topk" && p.class_balanced)
    throw Error("prune.class_balanced: only with prune.sampling=topk (" + sampling + " selects over the whole pool)");
  std::string mean_prob_path;
  if (!scores_path.empty()) {
    const std::vector<double> scores = prune::read_scores(scores_path, n);
    method = "scores";
    if (sampling == "topk") {
      subset = p.class_balanced ? prune::select_by_score_class_balanced(pool, scores, labels, ds.info.classes, k, p.level)
                                : prune::select_by_score(pool, scores, k, p.level);
    } else if (sampling == "ccs") {
      subset = prune::ccs_selection(pool, scores, k, p.cutoff, p.strata, p.seed);
    } else if (sampling == "beta") {
      mean_prob_path = p.mean_prob.empty() ? default_mean_prob : p.mean_prob;
      if (!std::filesystem::exists(mean_prob_path))
        throw Error("prune.mean_prob: '" + mean_prob_path + "' not found (Beta sampling needs the mean true-class "
                    "probabilities that `kdprune score score.method=dual` writes beside its scores)");
      const std::vector<double> mean_prob = prune::read_scores(mean_prob_path, n);
      std::vector<double> s_pool, m_pool;
      for (int64_t i : pool) s_pool.push_back(scores[static_cast<size_t>(i)]), m_pool.push_back(mean_prob[static_cast<size_t>(i)]);
      const auto w_pool = prune::beta_sampling_weights(s_pool, m_pool, p.fraction, p.beta_cd);
      std::vector<double> weights(static_cast<size_t>(n), 0.0);
      for (size_t j = 0; j < pool.size(); ++j) weights[static_cast<size_t>(pool[j])] = w_pool[j];
      const auto bp = prune::beta_params(s_pool, m_pool, p.fraction, p.beta_cd);
      spdlog::info("beta sampling: a = {:.4g}, b = {:.4g} (f = {}, c_d = {})", bp.a, bp.b, p.fraction, p.beta_cd);
      subset = prune::weighted_sample_without_replacement(pool, weights, k, p.seed);
    } else {  // d2
      subset = d2_selection(cfg, ds, pool, scores, k);
    }
  } else if (p.method == "random") {
    subset = p.class_balanced ? prune::class_balanced_random_selection(pool, labels, ds.info.classes, k, p.seed)
                              : prune::random_selection(pool, k, p.seed);
  } else if (p.method == "class_balanced_random") {
    subset = prune::class_balanced_random_selection(pool, labels, ds.info.classes, k, p.seed);
  } else {
    throw Error("prune.method=" + p.method + ": needs scores (--scores FILE or prune.scores=FILE, e.g. from `kdprune "
                "score`); score-free methods are random and class_balanced_random");
  }

  io::RunDir run = io::RunDir::create(cfg.run, "prune", opts.force);
  run.write_config(cfg);
  run.attach_log();
  io::write_npy_i64(run.file("subset.npy"), subset);
  std::vector<int64_t> per_class(static_cast<size_t>(ds.info.classes), 0);
  for (int64_t i : subset) ++per_class[static_cast<size_t>(labels[static_cast<size_t>(i)])];
  nlohmann::json info = {
      {"dataset", ds.info.name},
      {"f", p.fraction},
      {"subset_size", subset.size()},
      {"pool_size", pool.size()},
      {"train_size", n},
      {"method", method},
      {"scores", scores_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(scores_path)},
      {"level", scores_path.empty() || sampling != "topk" ? nlohmann::json(nullptr) : nlohmann::json(p.level)},
      {"sampling", scores_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(sampling)},
      {"sampling_requested", scores_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.sampling)},
      {"cutoff", sampling == "ccs" || sampling == "d2" ? nlohmann::json(p.cutoff) : nlohmann::json(nullptr)},
      {"class_balanced", p.class_balanced || p.method == "class_balanced_random"},
      {"seed", p.seed},
      {"part", cfg.data.part},
      {"per_class", per_class},
      {"subset_file", run.file("subset.npy")},
  };
  io::write_file_atomic(run.file("subset.json"), info.dump(2) + "\n");
  run.write_summary(info);
  spdlog::info("kept {} of {} samples (f = {}, {}{}) -> {}", subset.size(), pool.size(), p.fraction, method,
               scores_path.empty() ? "" : (sampling == "topk" ? ", level " + p.level : ", sampling " + sampling),
               run.file("subset.npy"));
  return info;
}

}  // namespace kdprune::commands
