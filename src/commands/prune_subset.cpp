#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>

#include "kdprune/commands/commands.h"
#include "kdprune/prune/d2.h"
#include "kdprune/scoring/knn.h"
#include "kdprune/prune/pool.h"
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

// D2 over `nodes` (dataset indices): the kNN graph of their embeddings, forward message passing of
// the scores, greedy reverse message-passing selection of `budget`.
using Embed = std::function<torch::Tensor(const std::vector<int64_t>&)>;
std::vector<int64_t> d2_pick(const PruneSection& p, const Embed& embed, const std::vector<int64_t>& nodes,
                             const std::vector<double>& scores, int64_t budget) {
  if (static_cast<int64_t>(nodes.size()) <= budget) return nodes;
  // Too few nodes for a kNN graph (a tiny class): the highest scores.
  if (static_cast<int64_t>(nodes.size()) <= p.knn) return prune::select_by_score(nodes, scores, budget, "hard");
  std::vector<double> s;
  for (int64_t i : nodes) s.push_back(scores[static_cast<size_t>(i)]);
  const prune::Adjacency adj = prune::d2_adjacency(prune::knn_graph(embed(nodes), p.knn), p.d2_graph == "symmetric");
  const auto picks = prune::d2_greedy(adj, prune::d2_forward(adj, s, p.d2_gamma), budget, p.d2_beta);
  std::vector<int64_t> out;
  for (int64_t i : picks) out.push_back(nodes[static_cast<size_t>(i)]);
  return out;
}

// D2: the embeddings of prune.model over the pool left by the cut-off, then per class (a graph and
// an equal share of k each, as the reference's class mode) or over the whole pool.
std::vector<int64_t> d2_selection(const Config& cfg, const data::RawDataset& ds, const std::vector<int64_t>& pool,
                                  const std::vector<int64_t>& nodes, const std::vector<double>& scores, int64_t k) {
  const auto& p = cfg.prune;
  if (p.model.empty())
    throw Error("prune.model: D2 needs the model.pt whose embeddings build the kNN graph (a train-teacher or score run)");
  const torch::Device device(system::resolve_device(cfg.run.device));
  system::configure_runtime(cfg.run.threads, cfg.run.seed);
  const train::ModelExpectation expect{"", "", {ds.train.c, ds.info.classes, ds.train.h}, ds.info.name};
  auto loaded = train::load_model(p.model, device, &expect);
  if (!loaded.meta.dataset.empty() && loaded.meta.dataset != ds.info.name)
    throw Error("prune.model '" + p.model + "' was trained on " + loaded.meta.dataset + ", the data is " + ds.info.name);
  if (loaded.meta.spec.in_channels != ds.train.c)
    throw Error("prune.model '" + p.model + "' takes " + std::to_string(loaded.meta.spec.in_channels) +
                " input channels, the data has " + std::to_string(ds.train.c));
  if (static_cast<int64_t>(nodes.size()) <= k) return nodes;
  const data::TensorDataset data = data::to_tensors(data::RawDataset(ds), device);
  const auto t0 = std::chrono::steady_clock::now();
  const Embed embed = [&](const std::vector<int64_t>& idx) {
    return commands::infer(*loaded.model, data, torch::tensor(idx, torch::kInt64).to(device), cfg.train.eval_batch_size).embedding;
  };
  std::vector<int64_t> out;
  if (p.d2_per_class) {
    const auto by_class = prune::group_by_class(nodes, ds.train.labels, ds.info.classes);
    const auto sizes = prune::pool_class_sizes(nodes, ds.train.labels, ds.info.classes);
    // The reference's uniform bin_allocate (smallest class first, min(size, left / classes left))
    // is the CCS budget rule; proportional shares as DeepCore's when prune.class_shares says so.
    // Proportional shares are of the class sizes before the cut-off, capped at what is left.
    std::vector<int64_t> quota = prune::ccs_budgets(sizes, k);
    if (p.class_shares == "proportional") {
      quota = prune::proportional_quotas(prune::pool_class_sizes(pool, ds.train.labels, ds.info.classes), p.fraction);
      for (size_t c = 0; c < quota.size(); ++c) quota[c] = std::min(quota[c], sizes[c]);
    }
    for (size_t c = 0; c < by_class.size(); ++c) {
      if (quota[c] == 0) continue;
      const auto part = d2_pick(p, embed, by_class[c], scores, quota[c]);
      out.insert(out.end(), part.begin(), part.end());
    }
  } else {
    out = d2_pick(p, embed, nodes, scores, k);
  }
  spdlog::info("d2: {} nodes{}, k = {}, forward exp(-{} d), reverse exp(-{} d), {} graph -> {} picks in {:.1f} s",
               nodes.size(), p.d2_per_class ? " in per-class graphs" : "", p.knn, p.d2_gamma, p.d2_beta, p.d2_graph,
               out.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
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
  // Scores select; a score-free method asked for beside them would be silently ignored.
  const bool method_asked = std::any_of(opts.overrides.begin(), opts.overrides.end(),
                                        [](const std::string& o) { return o.rfind("prune.method=", 0) == 0; });
  if (!scores_path.empty() && (p.method == "class_balanced_random" || (method_asked && p.method == "random")))
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
  if (sampling != "topk" && scores_path.empty())
    throw Error("prune.sampling=" + sampling + ": needs scores (--scores FILE or prune.scores=FILE)");
  if (sampling != "topk" && p.class_balanced)
    throw Error("prune.class_balanced: only with prune.sampling=topk (" + sampling + " selects over the whole pool)");
  std::string mean_prob_path;
  CutOff cut;
  if (!scores_path.empty()) {
    const std::vector<double> scores = prune::read_scores(scores_path, n, p.scores_order);
    prune::check_scores_pool(scores_path, pool, cfg.data);
    method = "scores";
    if (sampling == "topk") {
      subset = p.class_balanced ? prune::select_by_score_class_balanced(pool, scores, labels, quota, p.level)
                                : prune::select_by_score(pool, scores, k, p.level);
    } else if (sampling == "ccs") {
      cut = cut_off(p, scores_path, pool, scores, k, n);
      subset = prune::ccs_sample(cut.kept, scores, k, p.strata, p.seed);
    } else if (sampling == "beta") {
      mean_prob_path = p.mean_prob.empty() ? default_mean_prob : p.mean_prob;
      if (!std::filesystem::exists(mean_prob_path))
        throw Error("prune.mean_prob: '" + mean_prob_path + "' not found (Beta sampling needs the mean true-class "
                    "probabilities that `kdprune score score.method=dual` writes beside its scores)");
      const std::vector<double> mean_prob = prune::read_probabilities(mean_prob_path, n);
      std::vector<double> s_pool, m_pool;
      for (int64_t i : pool) s_pool.push_back(scores[static_cast<size_t>(i)]), m_pool.push_back(mean_prob[static_cast<size_t>(i)]);
      const auto w_pool = prune::beta_sampling_weights(s_pool, m_pool, p.fraction, p.beta_cd);
      std::vector<double> weights(static_cast<size_t>(n), 0.0);
      for (size_t j = 0; j < pool.size(); ++j) weights[static_cast<size_t>(pool[j])] = w_pool[j];
      const auto bp = prune::beta_params(s_pool, m_pool, p.fraction, p.beta_cd);
      spdlog::info("beta sampling: a = {:.4g}, b = {:.4g} (f = {}, c_d = {})", bp.a, bp.b, p.fraction, p.beta_cd);
      subset = prune::weighted_sample_without_replacement(pool, weights, k, p.seed);
    } else {  // d2
      cut = cut_off(p, scores_path, pool, scores, k, n);
      subset = d2_selection(cfg, ds, pool, cut.kept, scores, k);
    }
  } else if (p.method == "random") {
    subset = p.class_balanced ? prune::class_balanced_random_selection(pool, labels, quota, p.seed)
                              : prune::random_selection(pool, k, p.seed);
  } else if (p.method == "class_balanced_random") {
    subset = prune::class_balanced_random_selection(pool, labels, quota, p.seed);
  } else {
    throw Error("prune.method=" + p.method + ": needs scores (--scores FILE or prune.scores=FILE, e.g. from `kdprune "
                "score`); score-free methods are random and class_balanced_random");
  }

  io::RunDir run = io::RunDir::create(cfg, "prune", opts.force);
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
      {"cutoff_by", cut.by.empty() ? nlohmann::json(nullptr) : nlohmann::json(cut.by)},
      {"aum", cut.aum_file.empty() ? nlohmann::json(nullptr) : nlohmann::json(cut.aum_file)},
      {"scores_order", p.scores_order.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.scores_order)},
      {"class_shares", p.class_balanced || p.method == "class_balanced_random" || (sampling == "d2" && p.d2_per_class)
                           ? nlohmann::json(p.class_shares) : nlohmann::json(nullptr)},
      {"d2", sampling == "d2" ? nlohmann::json({{"knn", p.knn}, {"forward_gamma", p.d2_gamma}, {"reverse_beta", p.d2_beta},
                                                {"graph", p.d2_graph}, {"per_class", p.d2_per_class}})
                              : nlohmann::json(nullptr)},
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
