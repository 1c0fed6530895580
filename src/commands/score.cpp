#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <numeric>

#include "kdprune/commands/name_checks.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/io/csv_table.h"
#include "kdprune/io/file_digest.h"
#include "kdprune/io/npy.h"
#include "kdprune/data/train_view.h"
#include "kdprune/dist/launch_env.h"
#include "kdprune/scoring/aum.h"
#include "kdprune/scoring/scorer_registry.h"
#include "kdprune/prune/memorization.h"
#include "kdprune/prune/pool.h"
#include "kdprune/prune/selection.h"
#include "kdprune/system/environment.h"
#include "kdprune/train/model_file.h"
#include "kdprune/train/precision.h"
#include "kdprune/train/torch_save.h"
#include "kdprune/util/error.h"
#include "kdprune/util/hash.h"
#include "session.h"

namespace kdprune::commands {
namespace {

// What a memorization model's outcome depends on: processes sharing score.outcomes_dir must agree
// on it (model k's seed is run.seed + k, so score.models may grow between runs). Only non-default
// keys, so a kdprune with more config keys still accepts the directory.
std::string memorization_settings(const Config& cfg, const TrainSection& t, const std::vector<int64_t>& pool) {
  Config k;
  k.run.seed = cfg.run.seed;
  k.data = cfg.data;
  k.model = cfg.model;
  k.train = t;
  k.score.epochs = cfg.score.epochs;
  k.score.subset_ratio = cfg.score.subset_ratio;
  k.score.method = "memorization";
  // Keys added or with changed defaults since directories were first shared keep the values they
  // had then, so an existing outcomes directory is still recognised (its settings.yaml text).
  k.score.schedule_epochs = yaml_changes_baseline().score.schedule_epochs;  // memorization models anneal within score.epochs
  k.prune = yaml_changes_baseline().prune;
  k.prune.sampling = "auto";
  std::string pool_bytes(reinterpret_cast<const char*>(pool.data()), pool.size() * sizeof(int64_t));
  return to_yaml_changes(k) + "# pool: " + std::to_string(pool.size()) + " samples, fnv1a64 " + std::to_string(fnv1a64(pool_bytes)) + "\n";
}

struct MemorizationRun {
  torch::Tensor scores;          // over the pool; undefined while models are missing (a shard)
  int64_t single_group = 0;      // samples in only one of the two groups (scored 0)
  std::vector<int64_t> trained;  // models this process trained
  int64_t missing = 0;           // other shards' models not yet saved
};

// Memorization (Feldman & Zhang): K models on independent random r-subsets of the pool, each
// evaluated on the whole pool; mem(i) = mean correctness over the models that trained on i minus
// the mean over those that did not. Each model's outcome is saved (<outcomes>/model-K.npy:
// 2*trained + correct per pool sample), so a killed job resumed with --resume restarts at the
// first model without a file, and n processes with score.shard=i/n train disjoint models into
// one shared score.outcomes_dir; a run without a shard then only aggregates.
MemorizationRun memorization(Session& s, const TrainSection& t, std::vector<int64_t>& seeds) {
  const auto& cfg = s.config;
  const auto& sc = cfg.score;
  const Shard shard = parse_shard(sc.shard);
  const auto pool = s.view.indices;
  const auto np = static_cast<int64_t>(pool.size());
  const auto view = torch::tensor(pool, torch::kInt64).to(s.device);
  const auto labels = s.data.train.labels.index_select(0, view);
  const std::string dir = sc.outcomes_dir.empty() ? s.run().file("memorization") : sc.outcomes_dir;
  std::filesystem::create_directories(dir);
  const std::string settings = memorization_settings(cfg, t, pool);
  const std::string settings_file = dir + "/settings.yaml";
  if (!std::filesystem::exists(settings_file)) io::write_file_atomic(settings_file, settings);
  else if (io::read_file(settings_file) != settings)
    throw Error("score.outcomes_dir: " + dir + " holds models trained with other settings (see " + settings_file +
                "); use a new directory");
  MemorizationRun out;
  std::vector<std::vector<int64_t>> outcomes;
  const int64_t subset_size = prune::kept_count(sc.subset_ratio, np);
  for (int64_t k = 0; k < sc.models; ++k) {
    const int64_t seed = cfg.run.seed + k;
    seeds.push_back(seed);
    const std::string file = dir + "/model-" + std::to_string(k) + ".npy";
    std::vector<int64_t> outcome;
    if (k % shard.count != shard.index) {
      if (!std::filesystem::exists(file)) ++out.missing;  // another shard's model
      continue;
    }
    if (std::filesystem::exists(file)) {
      outcome = io::read_npy_as_i64(file);
      if (static_cast<int64_t>(outcome.size()) != np) throw Error(file + ": expected " + std::to_string(np) + " entries");
      spdlog::info("memorization: model {}/{} already done ({})", k + 1, sc.models, file);
    } else {
      // Positions in the pool of this model's training subset (seeded per model).
      std::vector<int64_t> positions(static_cast<size_t>(np));
      std::iota(positions.begin(), positions.end(), 0);
      positions = prune::random_subset(positions, subset_size, static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL + 0x6d656d);
      std::vector<int64_t> train_idx;
      for (int64_t p : positions) train_idx.push_back(pool[static_cast<size_t>(p)]);
      torch::manual_seed(static_cast<uint64_t>(seed));
      auto model = models::create_model(cfg.model.arch, s.model_spec());
      spdlog::info("memorization: model {}/{} ({}, seed {}) on {} of {} samples, {} epochs", k + 1, sc.models,
                   cfg.model.arch, seed, train_idx.size(), np, t.epochs);
      train::fit({.model = *model, .data = s.data, .indices = train_idx, .train = t, .augment = cfg.data.augment, .seed = seed,
                  .loss_capturable = true, .adapt_threads = cfg.run.adapt_threads});
      const auto inf = infer(*model, s.data, view, cfg.train.eval_batch_size);
      const auto correct = inf.logits.argmax(1).eq(labels).cpu();
      outcome.assign(static_cast<size_t>(np), 0);
      for (int64_t p : positions) outcome[static_cast<size_t>(p)] = 2;
      const auto c = correct.accessor<bool, 1>();
      for (int64_t i = 0; i < np; ++i) outcome[static_cast<size_t>(i)] += c[i] ? 1 : 0;
      io::write_npy_i64(file, outcome);
      out.trained.push_back(k);
    }
    outcomes.push_back(std::move(outcome));
  }
  if (shard.count > 1) return out;  // a shard saves models; the scores come from a run without a shard
  const auto mem = prune::memorization_scores(outcomes);
  if (mem.single_group > 0)
    spdlog::warn("memorization: {} of {} samples were in only one group (always or never trained on) and score 0; "
                 "use more models", mem.single_group, np);
  out.scores = torch::tensor(mem.scores, torch::kFloat64).to(s.device);
  out.single_group = mem.single_group;
  return out;
}

// One float per training sample from values over the pool (`indices`); samples outside it get 0.
std::vector<float> over_train_set(const torch::Tensor& pool_values, const std::vector<int64_t>& indices, int64_t n) {
  const auto v = pool_values.to(torch::kFloat64).cpu().contiguous();
  const auto a = v.accessor<double, 1>();
  std::vector<float> out(static_cast<size_t>(n), 0.0f);
  for (size_t i = 0; i < indices.size(); ++i) out[static_cast<size_t>(indices[i])] = static_cast<float>(a[static_cast<int64_t>(i)]);
  return out;
}

// A shard's job ends with its models saved; the scores come from a later run without a shard.
nlohmann::json memorization_shard_done(Session& s, const MemorizationRun& mem, std::chrono::steady_clock::time_point t0) {
  const auto& sc = s.config.score;
  const std::string dir = sc.outcomes_dir.empty() ? s.run().file("memorization") : sc.outcomes_dir;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const nlohmann::json info = {
      {"method", "memorization"}, {"shard", sc.shard}, {"models", sc.models}, {"models_trained_here", mem.trained},
      {"models_missing", mem.missing}, {"outcomes_dir", dir}, {"complete", false}, {"scoring_seconds", wall},
      {"device", s.device.str()}, {"environment", system::environment_json()},
  };
  io::write_file_atomic(s.run().file("scores.json"), info.dump(2) + "\n");
  s.run().write_summary(info);
  spdlog::info("memorization shard {}: trained {} models in {:.1f} s; {} of {} models not yet saved by other shards in {}; "
               "once every shard is done, run score without score.shard (same score.outcomes_dir) for the scores",
               sc.shard, mem.trained.size(), wall, mem.missing, sc.models, dir);
  return info;
}

// The names of the scorers of `strategy`, "a" or "a, b" (for messages).
std::string scorers_of(scoring::Strategy strategy) {
  std::string s;
  for (const auto& sc : scoring::scorer_registry())
    if (sc.strategy == strategy) s += (s.empty() ? "" : ", ") + sc.name;
  return s;
}

// `text` as a YAML scalar for an override's value (a path is taken as written).
std::string yaml_quoted(const std::string& text) {
  std::string q = "'";
  for (char c : text) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

// Whether the config file or an override sets model.arch (a fallback applies only where neither does).
bool arch_given(const CommandOptions& opts) {
  static const std::string unset = "(not given)";
  return load_config(opts.config_path, opts.overrides, {"model.arch=" + yaml_quoted(unset)}).model.arch != unset;
}

// score.checkpoint: the model to score, with the architecture its file records (a kdprune
// model.pt), or a PyTorch file's 'arch' entry, else the one architecture its shapes fit; where
// those fit several, a model.arch the user gave chooses. A model.arch the user gave must be the
// file's; the file must be a model of this dataset's channels and classes.
train::LoadedModel load_scored_model(const Session& s, bool arch_given) {
  const auto& cfg = s.config;
  const std::string& file = cfg.score.checkpoint;
  const auto spec = s.model_spec();
  train::LoadedModel loaded;
  try {
    const train::ModelExpectation from_file{"", "model.arch", spec, s.data.info.name};
    try {
      loaded = train::load_model(file, s.device, &from_file);
    } catch (const Error&) {
      if (!arch_given || !std::filesystem::is_regular_file(file) || !train::is_torch_save_file(file)) throw;
      const train::ModelExpectation named{cfg.model.arch, "model.arch", spec, s.data.info.name};
      loaded = train::load_model(file, s.device, &named);
    }
  } catch (const Error& e) {
    throw Error(std::string("score.checkpoint: ") + e.what());
  }
  if (arch_given && loaded.meta.arch != cfg.model.arch)
    throw Error("score.checkpoint '" + file + "' holds a " + loaded.meta.arch + ", but model.arch is " + cfg.model.arch +
                " (set model.arch=" + loaded.meta.arch + ", or leave it unset, to score the file's model)");
  if (!loaded.meta.dataset.empty() && loaded.meta.dataset != s.data.info.name)
    throw Error("score.checkpoint '" + file + "' was trained on " + loaded.meta.dataset + ", the data is " + s.data.info.name);
  if (loaded.meta.spec.in_channels != spec.in_channels || loaded.meta.spec.classes != spec.classes)
    throw Error("score.checkpoint '" + file + "': a " + loaded.meta.arch + " for " + std::to_string(loaded.meta.spec.in_channels) +
                " input channels and " + std::to_string(loaded.meta.spec.classes) + " classes; dataset " + s.data.info.name +
                " has " + std::to_string(spec.in_channels) + " and " + std::to_string(spec.classes));
  return loaded;
}

}  // namespace

nlohmann::json score(const CommandOptions& options, const std::string& checkpoint) {
  // Scores come from every sample's per-step outcomes, which a rank sees only for its part.
  if (dist::launch_env().distributed())
    throw Error("score: not under a data-parallel launcher (RANK/WORLD_SIZE or SLURM_NTASKS > 1 is set); score in one "
                "process (memorization's models spread over processes with score.shard=i/n)");
  CommandOptions opts = options;
  if (!checkpoint.empty()) opts.overrides.push_back("score.checkpoint=" + yaml_quoted(checkpoint));  // --checkpoint
  std::optional<Session> first, with_arch;
  first.emplace("score", opts);
  // score.checkpoint: the model file replaces the training run. Its architecture is the file's;
  // where the user named none, the run's config.yaml records the file's (a session sharing the
  // data, with model.arch set).
  const bool from_file = !first->config.score.checkpoint.empty();
  std::optional<train::LoadedModel> scored_model;
  std::string checkpoint_digest;
  if (from_file) {
    const bool given = arch_given(opts);
    check_score_checkpoint(first->config.score);
    if (!first->config.model.init.empty())
      throw Error("model.init: score.checkpoint is the model to score; unset model.init");
    checkpoint_digest = io::file_digest(first->config.score.checkpoint);  // of the bytes about to be read
    scored_model = load_scored_model(*first, given);
    if (!given && scored_model->meta.arch != first->config.model.arch) {
      CommandOptions o = opts;
      o.overrides.push_back("model.arch=" + scored_model->meta.arch);
      with_arch.emplace("score", o, *first);
    }
  }
  Session& s = with_arch ? *with_arch : *first;
  const auto& cfg = s.config;
  const auto& sc = cfg.score;
  const scoring::Scorer& scorer = scoring::find_scorer(sc.method);
  const bool subset_models = scorer.strategy == scoring::Strategy::subset_models;
  if (!cfg.model.init.empty())
    throw Error("model.init: score trains its models from random weights (one per seed); unset model.init, or score a "
                "model file with score.checkpoint (--checkpoint)");
  if (cfg.prune.fraction < 1.0) throw Error("prune.fraction: scores are computed on the whole pool; prune afterwards with `kdprune prune`");
  if (scorer.needs_epochs && sc.epochs == 0)
    throw Error("score.epochs: " + sc.method + " needs at least one training epoch");
  if (sc.save_models && subset_models)
    throw Error("score.save_models: " + sc.method + "'s models train on subsets of the pool and are not saved (their "
                "outcomes are, in score.outcomes_dir)");
  if (scorer.check) scorer.check(sc);
  if (!sc.shard.empty() && !subset_models)
    throw Error("score.shard: only " + scorers_of(scoring::Strategy::subset_models) +
                " trains its models in shards (score.method is " + sc.method + ")");
  if (!sc.shard.empty() && sc.outcomes_dir.empty())
    throw Error("score.shard: shards run as separate processes and need a shared score.outcomes_dir");
  s.start_run();
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t n = s.data.train.size();
  const auto view = torch::tensor(s.view.indices, torch::kInt64).to(s.device);
  const auto labels = s.data.train.labels.index_select(0, view);
  auto total = torch::zeros({view.size(0)}, torch::TensorOptions().dtype(torch::kFloat64).device(s.device));
  std::map<std::string, torch::Tensor> extras;  // the scorer's values beside the scores, summed over models
  auto aum_total = torch::zeros_like(total);  // AUM of the scoring runs (the CCS/D2 cut-off)
  const bool trains = !subset_models && sc.epochs > 0 && !from_file;
  // The scoring models follow a schedule of `schedule` epochs and stop at score.epochs (an early
  // epoch of the recipe, as data_diet and DUAL take theirs). Memorization models are trained
  // models: each anneals its whole schedule within score.epochs.
  const int64_t schedule = subset_models || sc.schedule_epochs == -1 ? sc.epochs
                           : sc.schedule_epochs == 0                                ? cfg.train.epochs
                                                                                    : sc.schedule_epochs;
  if (schedule < sc.epochs && !from_file)
    throw Error("score.schedule_epochs: the scoring schedule is " + std::to_string(schedule) + " epochs" +
                (sc.schedule_epochs == 0 ? " (train.epochs)" : "") + ", shorter than score.epochs = " +
                std::to_string(sc.epochs) + "; set score.schedule_epochs >= score.epochs, or -1 to anneal within score.epochs");
  TrainSection t = cfg.train;
  t.epochs = schedule;
  t.eval_every = std::max<int64_t>(1, sc.epochs);
  t.checkpoint_every = 0;
  std::vector<int64_t> seeds;
  std::vector<std::string> model_files;  // score.save_models
  int64_t one_group = 0;
  if (subset_models) {
    auto mem = memorization(s, t, seeds);
    if (!mem.scores.defined()) return memorization_shard_done(s, mem, t0);
    total = mem.scores * static_cast<double>(sc.models);  // averaged below like the other methods
    one_group = mem.single_group;
  }
  if (from_file)
    spdlog::info("score {}: the {} of score.checkpoint {} (no training: score.epochs, score.schedule_epochs and run.seed "
                 "are not used)", sc.method, cfg.model.arch, sc.checkpoint);
  for (int64_t k = 0; k < sc.models && !subset_models; ++k) {
    const int64_t seed = cfg.run.seed + k;
    models::Model model;
    if (from_file) {
      // The checkpoint stands in for the trained model, in the layout training leaves it in.
      model = scored_model->model;
      if (train::channels_last_on(cfg.train)) train::to_channels_last(*model);
    } else {
      seeds.push_back(seed);
      torch::manual_seed(static_cast<uint64_t>(seed));
      model = models::create_model(cfg.model.arch, s.model_spec());
      spdlog::info("score {}: model {}/{} ({}, seed {}), {} epochs", sc.method, k + 1, sc.models, cfg.model.arch, seed, sc.epochs);
    }
    const scoring::ScoreContext context{
        .config = cfg, .data = s.data, .device = s.device, .n = n, .pool = view, .labels = labels,
        .infer = [&](models::ModelImpl& m) {
          const auto inf = infer(m, s.data, view, cfg.train.eval_batch_size);
          return scoring::PoolOutputs{inf.logits, inf.embedding};
        }};
    const scoring::ModelScoring pieces = scorer.make(context);
    prune::ProbabilityMarginAum aum(n, s.device);
    std::vector<train::TrainObserver*> observers;
    for (const auto& o : pieces.observers) observers.push_back(o.get());
    observers.push_back(&aum);
    if (trains) {
      train::fit({.model = *model, .data = s.data, .indices = s.view.indices, .train = t, .augment = cfg.data.augment,
                  .seed = seed, .observers = observers, .stop_epoch = sc.epochs, .loss_capturable = true, .adapt_threads = cfg.run.adapt_threads});
      aum_total += aum.aum().index_select(0, view);
    }
    if (sc.save_models) {
      // The model the scores below come from; `score.checkpoint` scores it again to the same values.
      const std::string stem = sc.models == 1 ? "model" : "model-" + std::to_string(k);
      train::save_model(s.run().file(stem + ".pt"), model, s.model_meta());
      train::export_pytorch(s.run().file(stem + ".pth"), model, s.model_meta());
      model_files.push_back(s.run().file(stem + ".pt"));
    }
    const scoring::Scored scored = pieces.finish(*model);
    total += scored.scores.to(torch::kFloat64);
    for (const auto& [name, values] : scored.extras) {
      auto& sum = extras[name];
      if (!sum.defined()) sum = torch::zeros_like(total);
      sum += values.to(torch::kFloat64);
    }
  }
  const auto mean = (total / static_cast<double>(sc.models)).cpu();
  // What the scorer keeps beside the scores (DUAL's mean true-class probability, which Beta sampling reads).
  for (const auto& [name, sum] : extras)
    io::write_npy_f32(s.run().file(name + ".npy"), over_train_set(sum / static_cast<double>(sc.models), s.view.indices, n));
  if (trains) {
    // AUM beside the scores: the CCS and D2 cut-off of likely mislabeled samples reads it.
    // A sample left out of every presentation (the trainer drops a lone last sample) has no margin:
    // it gets the pool's mean AUM, so the cut-off neither targets nor protects it.
    auto a = (aum_total / static_cast<double>(sc.models)).cpu();
    if (a.isnan().any().item<bool>()) a = torch::nan_to_num(a, a.nanmean().item<double>());
    io::write_npy_f32(s.run().file("aum.npy"), over_train_set(a, s.view.indices, n));
  }
  // One score per training sample; samples outside the pool (another split part) get 0, and the
  // pool is recorded in scores.json, so `kdprune prune` can check it selects from the same pool.
  const std::vector<float> scores = over_train_set(mean, s.view.indices, n);
  io::write_npy_f32(s.run().file("scores.npy"), scores);
  const auto all_labels = s.data.train.labels.cpu();
  std::string csv = "index,label,score\n";
  for (int64_t i = 0; i < n; ++i)
    csv += std::to_string(i) + "," + std::to_string(all_labels[i].item<int64_t>()) + "," + io::csv_field(scores[static_cast<size_t>(i)]) + "\n";
  io::write_file_atomic(s.run().file("scores.csv"), csv);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Passes over the pool: training epochs plus one inference pass where the method needs one
  // (memorization trains on r of the pool per epoch).
  const bool inference = scorer.inference_pass;
  const double epoch_share = subset_models ? sc.subset_ratio : 1.0;
  const double epochs_trained = from_file ? 0.0 : static_cast<double>(sc.epochs);
  const double passes = static_cast<double>(sc.models) * (epochs_trained * epoch_share + (inference ? 1 : 0));
  nlohmann::json info = {
      {"method", sc.method},
      {"model", cfg.model.arch}, {"epochs", from_file ? nlohmann::json(nullptr) : nlohmann::json(sc.epochs)},
      {"models", sc.models}, {"seeds", seeds},
      {"dataset", s.data.info.name}, {"N", n}, {"pool_size", s.view.indices.size()},
      {"pool", prune::pool_record(s.view.indices, cfg.data)},
      {"schedule_epochs", subset_models || from_file ? nlohmann::json(nullptr) : nlohmann::json(schedule)},
      // The model file scored instead of a training run (score.checkpoint): its path as given and
      // its content digest, so that scores from a file changed since are told apart.
      {"checkpoint", from_file ? nlohmann::json(std::filesystem::absolute(sc.checkpoint).lexically_normal().string())
                               : nlohmann::json(nullptr)},
      {"checkpoint_digest", from_file ? nlohmann::json(checkpoint_digest) : nlohmann::json(nullptr)},
      {"model_files", sc.save_models ? nlohmann::json(model_files) : nlohmann::json(nullptr)},
      {"aum_file", trains ? nlohmann::json(s.run().file("aum.npy")) : nlohmann::json(nullptr)},
      {"passes_over_data", passes}, {"scoring_seconds", wall}, {"device", s.device.str()},
      {"single_group_samples", subset_models ? nlohmann::json(one_group) : nlohmann::json(nullptr)},
      {"scores_file", s.run().file("scores.npy")}, {"environment", system::environment_json()},
  };
  // Every method's settings and extra files are keys, null unless they are this method's.
  for (const auto& other : scoring::scorer_registry()) {
    const nlohmann::json settings = other.settings(sc);  // items() refers to it: keep it alive
    for (const auto& field : settings.items())
      if (!info.contains(field.key())) info[field.key()] = nullptr;
    for (const auto& e : other.extra_files) info[e + "_file"] = nullptr;
  }
  info.update(scorer.settings(sc));
  for (const auto& e : scorer.extra_files) info[e + "_file"] = s.run().file(e + ".npy");
  io::write_file_atomic(s.run().file("scores.json"), info.dump(2) + "\n");
  s.run().write_summary(info);
  spdlog::info("{} scores for {} samples in {:.1f} s ({} passes over the data) -> {}", sc.method, n, wall, passes,
               s.run().file("scores.npy"));
  return info;
}

}  // namespace kdprune::commands
