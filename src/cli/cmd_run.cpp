#include <cstdio>

#include "cli.h"

namespace kdprune::cli {

void add_run(CLI::App& app, Action& action) {
  auto dry_run = std::make_shared<bool>(false);
  auto* sub = add_command(
      app, action, "run",
      "run a whole experiment from one YAML (teachers, scores, pruned subsets, students; finished stages "
      "are reused) and write results.csv",
      [dry_run](commands::CommandOptions& opts) {
        const auto r = commands::run_experiment(opts, *dry_run);
        if (*dry_run) {
          std::fputs(r.plan.c_str(), stdout);
          return 0;
        }
        std::printf("\n%s\n%zu stages run, %zu reused; results: %s\n", r.table.c_str(), r.executed, r.reused,
                    r.results_path.c_str());
        return 0;
      });
  sub->add_flag("--dry-run,-n", *dry_run, "print the plan (each stage: reuse / resume / run / rerun, and its command) and stop");
}

void add_results(CLI::App& app, Action& action) {
  auto dirs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("results", "collect finished student runs into results.csv and print the accuracy table");
  sub->add_option("dirs", *dirs, "run directories, or folders holding them (e.g. runs/ or runs/my-experiment)")->required();
  sub->add_option("--out,-o", *out, "write the rows as CSV here (e.g. results.csv)");
  sub->callback([&action, dirs, out] {
    action = [dirs, out] {
      std::fputs(commands::collect_results(*dirs, *out).c_str(), stdout);
      return 0;
    };
  });
}

}  // namespace kdprune::cli
