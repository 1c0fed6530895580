#include <cstdio>

#include "cli.h"

namespace kdprune::cli {

void add_score(CLI::App& app, Action& action) {
  add_command(app, action, "score",
              "compute a per-sample pruning score (score.method: forgetting, el2n, grand, moderate) -> scores.npy, "
              "scores.csv, scores.json",
              [](commands::CommandOptions& opts) {
                const auto r = commands::score(opts);
                std::printf("%s scores for %lld samples in %.1f s: %s\n", r["method"].get<std::string>().c_str(),
                            static_cast<long long>(r["N"].get<int64_t>()), r["scoring_seconds"].get<double>(),
                            r["scores_file"].get<std::string>().c_str());
                return 0;
              });
}

}  // namespace kdprune::cli
