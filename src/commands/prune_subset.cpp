#include <spdlog/spdlog.h>

#include "kdprune/commands/commands.h"
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
  if (!scores_path.empty()) {
    const std::vector<double> scores = prune::read_scores(scores_path, n);
    method = "scores";
    subset = p.class_balanced ? prune::select_by_score_class_balanced(pool, scores, labels, ds.info.classes, k, p.level)
                              : prune::select_by_score(pool, scores, k, p.level);
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
      {"level", scores_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.level)},
      {"class_balanced", p.class_balanced || p.method == "class_balanced_random"},
      {"seed", p.seed},
      {"part", cfg.data.part},
      {"per_class", per_class},
      {"subset_file", run.file("subset.npy")},
  };
  io::write_file_atomic(run.file("subset.json"), info.dump(2) + "\n");
  run.write_summary(info);
  spdlog::info("kept {} of {} samples (f = {}, {}{}) -> {}", subset.size(), pool.size(), p.fraction, method,
               scores_path.empty() ? "" : ", level " + p.level, run.file("subset.npy"));
  return info;
}

}  // namespace kdprune::commands
