#include <spdlog/spdlog.h>

#include <chrono>

#include "kdprune/io/atomic_file.h"
#include "kdprune/io/csv_table.h"
#include "kdprune/io/npy.h"
#include "kdprune/prune/scorers.h"
#include "kdprune/system/environment.h"
#include "kdprune/util/error.h"
#include "session.h"

namespace kdprune::commands {
namespace {

struct Inference {
  torch::Tensor logits, embedding;  // for the given indices, un-augmented
};

Inference infer(models::ModelImpl& model, const data::TensorDataset& d, const torch::Tensor& indices, int64_t batch) {
  model.eval();
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> logits, emb;
  const data::Normalizer normalise(d.info, indices.device());
  for (int64_t s = 0; s < indices.size(0); s += batch) {
    const auto idx = indices.slice(0, s, std::min(indices.size(0), s + batch));
    const auto out = model.forward_all(normalise(d.train.images.index_select(0, idx)));
    logits.push_back(out.logits.to(torch::kFloat32));
    emb.push_back(out.embedding.to(torch::kFloat32));
  }
  return {torch::cat(logits), torch::cat(emb)};
}

}  // namespace

nlohmann::json score(const CommandOptions& opts) {
  Session s("score", opts);
  const auto& cfg = s.config;
  const auto& sc = cfg.score;
  static const std::vector<std::string> methods = {"forgetting", "el2n", "grand", "moderate"};
  if (std::find(methods.begin(), methods.end(), sc.method) == methods.end())
    throw Error("score.method: unknown method '" + sc.method + "' (expected one of: forgetting, el2n, grand, moderate)");
  if (cfg.prune.fraction < 1.0) throw Error("prune.fraction: scores are computed on the whole pool; prune afterwards with `kdprune prune`");
  if (sc.method == "forgetting" && sc.epochs == 0) throw Error("score.epochs: forgetting needs at least one training epoch");
  s.start_run();
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t n = s.data.train.size();
  const auto view = torch::tensor(s.view.indices, torch::kInt64).to(s.device);
  const auto labels = s.data.train.labels.index_select(0, view);
  auto total = torch::zeros({view.size(0)}, torch::TensorOptions().dtype(torch::kFloat64).device(s.device));
  TrainSection t = cfg.train;
  t.epochs = sc.epochs;
  t.eval_every = std::max<int64_t>(1, sc.epochs);
  t.checkpoint_every = 0;
  std::vector<int64_t> seeds;
  for (int64_t k = 0; k < sc.models; ++k) {
    const int64_t seed = cfg.run.seed + k;
    seeds.push_back(seed);
    torch::manual_seed(static_cast<uint64_t>(seed));
    auto model = models::create_model(cfg.model.arch, s.model_spec());
    spdlog::info("score {}: model {}/{} ({}, seed {}), {} epochs", sc.method, k + 1, sc.models, cfg.model.arch, seed, sc.epochs);
    prune::ForgettingCounter forgetting(n, s.device);
    std::vector<train::TrainObserver*> observers;
    if (sc.method == "forgetting") observers.push_back(&forgetting);
    if (sc.epochs > 0)
      train::fit({.model = *model, .data = s.data, .indices = s.view.indices, .train = t, .augment = cfg.data.augment,
                  .seed = seed, .observers = observers});
    torch::Tensor score;
    if (sc.method == "forgetting") {
      score = forgetting.scores().index_select(0, view);
    } else if (sc.method == "grand" && sc.scope == "full") {
      model->eval();
      std::vector<torch::Tensor> parts;
      const data::Normalizer normalise(s.data.info, s.device);
      for (int64_t b = 0; b < view.size(0); b += 256) {
        const auto idx = view.slice(0, b, std::min(view.size(0), b + 256));
        parts.push_back(prune::grand_full(*model, normalise(s.data.train.images.index_select(0, idx)),
                                          s.data.train.labels.index_select(0, idx)));
      }
      score = torch::cat(parts).to(s.device);
    } else {
      const auto inf = infer(*model, s.data, view, cfg.train.eval_batch_size);
      if (sc.method == "el2n") score = prune::el2n_from_logits(inf.logits, labels);
      else if (sc.method == "grand") score = prune::grand_last_layer(inf.logits, inf.embedding, labels);
      else score = prune::centroid_distance(inf.embedding, labels, s.data.info.classes);
    }
    total += score.to(torch::kFloat64);
  }
  const auto mean = (total / static_cast<double>(sc.models)).cpu();
  // One score per training sample; samples outside the pool (another split part) get 0.
  std::vector<float> scores(static_cast<size_t>(n), 0.0f);
  const auto m = mean.accessor<double, 1>();
  for (size_t i = 0; i < s.view.indices.size(); ++i) scores[static_cast<size_t>(s.view.indices[i])] = static_cast<float>(m[static_cast<int64_t>(i)]);
  io::write_npy_f32(s.run().file("scores.npy"), scores);
  const auto all_labels = s.data.train.labels.cpu();
  std::string csv = "index,label,score\n";
  for (int64_t i = 0; i < n; ++i)
    csv += std::to_string(i) + "," + std::to_string(all_labels[i].item<int64_t>()) + "," + io::csv_field(scores[static_cast<size_t>(i)]) + "\n";
  io::write_file_atomic(s.run().file("scores.csv"), csv);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int64_t passes = sc.models * (sc.epochs + (sc.method == "forgetting" ? 0 : 1));
  nlohmann::json info = {
      {"method", sc.method}, {"scope", sc.method == "grand" ? nlohmann::json(sc.scope) : nlohmann::json(nullptr)},
      {"model", cfg.model.arch}, {"epochs", sc.epochs}, {"models", sc.models}, {"seeds", seeds},
      {"dataset", s.data.info.name}, {"N", n}, {"pool_size", s.view.indices.size()},
      {"passes_over_data", passes}, {"scoring_seconds", wall}, {"device", s.device.str()},
      {"scores_file", s.run().file("scores.npy")}, {"environment", system::environment_json()},
  };
  io::write_file_atomic(s.run().file("scores.json"), info.dump(2) + "\n");
  s.run().write_summary(info);
  spdlog::info("{} scores for {} samples in {:.1f} s ({} passes over the data) -> {}", sc.method, n, wall, passes,
               s.run().file("scores.npy"));
  return info;
}

}  // namespace kdprune::commands
