#include <cstdio>

#include "cli.h"

namespace kdprune::cli {

void add_score(CLI::App& app, Action& action) {
  add_command(app, action, "score",
              "compute a per-sample pruning score (score.method: forgetting, el2n, grand, moderate, dual, aum, "
              "memorization) -> scores.npy, scores.csv, scores.json",
              [](commands::CommandOptions& opts) {
                const auto r = commands::score(opts);
                if (r.contains("shard")) {  // a memorization shard: models saved, no scores yet
                  std::printf("memorization shard %s: %zu models trained, %lld still missing in %s\n",
                              r["shard"].get<std::string>().c_str(), r["models_trained_here"].size(),
                              static_cast<long long>(r["models_missing"].get<int64_t>()), r["outcomes_dir"].get<std::string>().c_str());
                  return 0;
                }
                std::printf("%s scores for %lld samples in %.1f s: %s\n", r["method"].get<std::string>().c_str(),
                            static_cast<long long>(r["N"].get<int64_t>()), r["scoring_seconds"].get<double>(),
                            r["scores_file"].get<std::string>().c_str());
                return 0;
              });
}

}  // namespace kdprune::cli
