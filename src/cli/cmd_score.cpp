#include <cstdio>

#include "cli.h"

namespace kdprune::cli {

void add_score(CLI::App& app, Action& action) {
  auto checkpoint = std::make_shared<std::string>();
  auto* sub = add_command(
      app, action, "score",
      "compute a per-sample pruning score (score.method: forgetting, el2n, grand, moderate, dual, aum, "
      "memorization) -> scores.npy, scores.csv, scores.json",
      [checkpoint](commands::CommandOptions& opts) {
        const auto r = commands::score(opts, *checkpoint);
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
  sub->add_option("--checkpoint,-m", *checkpoint,
                  "score this model file instead of training a model (score.checkpoint): a kdprune model.pt or a "
                  "PyTorch torch.save file, architecture from the file; el2n, grand (both score.scope) and moderate "
                  "only, one model (score.models=1), un-augmented and in eval mode as a scoring run scores its own");
}

}  // namespace kdprune::cli
