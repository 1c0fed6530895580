#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli.h"

namespace kdprune::cli {

void add_run(CLI::App& app, Action& action) {
  auto x = std::make_shared<commands::ExperimentOptions>();
  auto* sub = add_command(
      app, action, "run",
      "run a whole experiment from one YAML (teachers, scores, pruned subsets, students; finished stages "
      "are reused) and write results.csv",
      [x](commands::CommandOptions& opts) {
        std::error_code ec;
        const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
        if (!ec) x->program = self.string();
        const auto r = commands::run_experiment(opts, *x);
        if (x->dry_run) {
          std::fputs(r.plan.c_str(), stdout);
        } else if (x->print_jobs) {
          std::fputs(r.jobs.c_str(), stdout);
        } else if (!r.progress.empty()) {
          std::printf("%zu stages run, %zu reused; %s\n", r.executed, r.reused, r.progress.c_str());
        } else if (r.results_path.empty()) {
          std::printf("%zu stages run, %zu reused, %zu left for later (not selected by --only)\n", r.executed, r.reused,
                      r.skipped);
        } else {
          std::printf("\n%s\n%zu stages run, %zu reused; results: %s\n", r.table.c_str(), r.executed, r.reused,
                      r.results_path.c_str());
        }
        return 0;
      });
  sub->add_flag("--dry-run,-n", x->dry_run, "print the plan (each stage: reuse / resume / run / rerun, and its command) and stop");
  sub->add_flag("--rerun-changed", x->rerun_changed,
                "rerun finished stages whose config changed (without it such a change stops the run before "
                "anything runs, naming the stages and keys); their old outputs are kept until the new ones exist");
  sub->add_flag("--print-jobs", x->print_jobs,
                "print the command line of each selected stage still to run (one per line, for GNU parallel or a "
                "Slurm array) instead of running it");
  sub->add_option_function<std::string>(
      "--only",
      [x](const std::string& kinds) {
        for (size_t start = 0; start <= kinds.size();) {
          const size_t comma = std::min(kinds.find(',', start), kinds.size());
          if (comma > start) x->only.push_back(kinds.substr(start, comma - start));
          start = comma + 1;
        }
      },
      "run only these stage kinds: teacher, score, prune, student (comma-separated)");
  sub->add_option("--worker", x->worker,
                  "i/n: train only the students dealt to worker i of n (0-based), and the teachers, scores and "
                  "subsets they need (each runs once across the workers); every worker plans the same experiment "
                  "(docs/experiments.md, \"Many GPUs\")");
  sub->add_option("--metric", x->metric, "the table's accuracy: best (over the evaluated epochs, the paper's; default) or last")
      ->check(CLI::IsMember({"best", "last"}));
}

void add_results(CLI::App& app, Action& action) {
  auto dirs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto metric = std::make_shared<std::string>("best");
  auto* sub = app.add_subcommand("results", "collect finished student runs into results.csv and print the accuracy table");
  sub->add_option("dirs", *dirs, "run directories, or folders holding them (e.g. runs/ or runs/my-experiment)")->required();
  sub->add_option("--out,-o", *out, "write the rows as CSV here (e.g. results.csv)");
  sub->add_option("--metric", *metric, "the table's accuracy: best (over the evaluated epochs, the paper's; default) or last")
      ->check(CLI::IsMember({"best", "last"}));
  sub->callback([&action, dirs, out, metric] {
    action = [dirs, out, metric] {
      std::fputs(commands::collect_results(*dirs, *out, *metric).c_str(), stdout);
      return 0;
    };
  });
}

}  // namespace kdprune::cli
