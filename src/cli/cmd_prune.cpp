#include <cstdio>

#include "cli.h"

namespace kdprune::cli {

void add_prune(CLI::App& app, Action& action) {
  auto scores = std::make_shared<std::string>();
  auto* sub = add_command(
      app, action, "prune",
      "select the kept subset (subset.npy) by scores at a level (hard/easy/moderate), or by random / "
      "class-balanced random pruning",
      [scores](commands::CommandOptions& opts) {
        const auto r = commands::prune_subset(opts, *scores);
        std::printf("kept %lld of %lld (f = %g): %s\n", static_cast<long long>(r["subset_size"].get<int64_t>()),
                    static_cast<long long>(r["pool_size"].get<int64_t>()), r["f"].get<double>(),
                    r["subset_file"].get<std::string>().c_str());
        return 0;
      });
  sub->add_option("--scores,-s", *scores,
                  "per-sample scores (.npy float32/float64 or .csv), e.g. from `kdprune score`");
}

}  // namespace kdprune::cli
