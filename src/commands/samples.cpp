#include "kdprune/commands/samples.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "kdprune/data/dataset_registry.h"
#include "kdprune/data/sample_gallery.h"
#include "kdprune/data/train_view.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/io/npy.h"
#include "kdprune/prune/pool.h"
#include "kdprune/prune/score_selection.h"
#include "kdprune/util/error.h"
#include "kdprune/util/logging.h"

namespace kdprune::commands {
namespace {

namespace fs = std::filesystem;

// scores.json beside the score file (a `kdprune score` run's), or null.
nlohmann::json score_record(const std::string& scores) {
  const auto path = fs::path(scores).parent_path() / "scores.json";
  if (!fs::exists(path)) return nullptr;
  try {
    return nlohmann::json::parse(io::read_file(path.string()));
  } catch (const nlohmann::json::exception&) {
    throw Error(path.string() + ": not valid JSON (the record of the scores beside it)");
  }
}

}  // namespace

nlohmann::json sample_gallery(const CommandOptions& opts, const GalleryOptions& g) {
  if (g.scores.empty()) throw Error("samples: --scores FILE is required (e.g. runs/score-forgetting/scores.npy)");
  if (!fs::exists(g.scores)) throw Error("samples: --scores '" + g.scores + "': no such file");
  const std::string out = g.out.empty() ? (fs::path(g.scores).parent_path() / "gallery.json").string() : g.out;
  if (fs::path(out).extension() != ".json")
    throw Error("samples: --out '" + out + "': expected a .json path (the images go beside it as .npy)");
  const std::string images_path = fs::path(out).replace_extension(".npy").string();
  // The score run's own config names the dataset and the pool it scored.
  std::string config = opts.config_path;
  const auto beside = fs::path(g.scores).parent_path() / "config.yaml";
  if (config.empty() && fs::exists(beside)) config = beside.string();
  const Config cfg = load_config(config, opts.overrides);
  logging::init(cfg.run.log_level);
  if (!config.empty()) spdlog::info("samples: dataset and pool from {}", config);
  const data::RawDataset ds = data::load_dataset(cfg.data, cfg.run.seed);
  const int64_t n = ds.train.n;
  const nlohmann::json record = score_record(g.scores);
  if (record.is_object() && record.contains("dataset") && record["dataset"].is_string() &&
      record["dataset"].get<std::string>() != ds.info.name)
    throw Error("samples: the scores in " + g.scores + " are of " + record["dataset"].get<std::string>() +
                " (scores.json) but data.name loads " + ds.info.name + "; pass the scoring run's --config or data.name=");
  // The pool as `kdprune score` scored it: the config's training view (the whole set, or a split part).
  const std::vector<int64_t> pool = data::select_train_view(cfg, ds.train.labels, ds.info.classes).indices;
  const std::vector<double> scores = prune::read_scores(g.scores, n, cfg.prune.scores_order);  // length, NaN: one line
  try {
    prune::check_scores_pool(g.scores, pool, cfg.data);
  } catch (const Error& e) {
    const std::string what = e.what();
    throw Error("samples: " + (what.rfind("prune: ", 0) == 0 ? what.substr(7) : what));
  }
  const data::Gallery gallery = data::sample_gallery(ds, pool, scores, g.top, g.bottom);

  nlohmann::json samples = nlohmann::json::array();
  for (const auto& p : gallery.picks)
    samples.push_back({{"group", p.group}, {"rank", p.rank}, {"index", p.index}, {"label", p.label},
                       {"class", ds.info.class_names.at(static_cast<size_t>(p.label))}, {"score", p.score}});
  const nlohmann::json info = {
      {"dataset", ds.info.name},
      {"classes", ds.info.classes},
      {"scores_file", g.scores},
      {"method", record.is_object() && record.contains("method") ? record["method"] : nlohmann::json(nullptr)},
      {"train_size", n},
      {"pool_size", pool.size()},
      {"split", cfg.data.split},
      {"part", cfg.data.part},
      {"top", g.top},
      {"bottom", g.bottom},
      {"image_shape", {gallery.c, gallery.h, gallery.w}},
      {"images_file", fs::path(images_path).filename().string()},
      {"samples", samples},
  };
  // The images first, the JSON that names them last: a JSON present means its images are complete.
  io::write_npy_u8(images_path, {static_cast<int64_t>(gallery.picks.size()), gallery.c, gallery.h, gallery.w},
                   gallery.images);
  io::write_file_atomic(out, info.dump(2) + "\n");
  nlohmann::json result = info;
  result["gallery_file"] = out;
  result["images_path"] = images_path;
  return result;
}

}  // namespace kdprune::commands
