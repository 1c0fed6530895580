#include <iostream>

#include "cli.h"
#include "kdprune/util/error.h"
#include "kdprune/util/logging.h"
#include "kdprune/version.h"

namespace kdprune::cli {
CLI::App* add_command(CLI::App& app, Action& action, const std::string& name, const std::string& help,
                      std::function<int(commands::CommandOptions&)> run) {
  auto* sub = app.add_subcommand(name, help);
  auto opts = std::make_shared<commands::CommandOptions>();
  sub->add_option("--config,-c", opts->config_path, "YAML config file (configs/<dataset>/...)")->check(CLI::ExistingFile);
  sub->add_flag("--force", opts->force, "overwrite an existing run directory of the same run.name");
  sub->add_flag("--resume", opts->resume, "continue the unfinished run of the same run.name and config from its last checkpoint");
  sub->add_option("overrides", opts->overrides, "section.key=value overrides, e.g. train.epochs=10 'train.milestones=[5,8]'");
  sub->callback([&action, opts, run = std::move(run)] { action = [opts, run] { return run(*opts); }; });
  return sub;
}
}  // namespace kdprune::cli

int main(int argc, char** argv) {
  using namespace kdprune;
  CLI::App app{"kdprune: training on pruned datasets with knowledge distillation", "kdprune"};
  app.set_version_flag("--version,-V", std::string("kdprune ") + KDPRUNE_VERSION + " (commit " + git_commit() + ")");
  app.require_subcommand(1);
  cli::Action action;
  cli::add_info(app, action);
  cli::add_train_teacher(app, action);
  cli::add_distill(app, action);
  cli::add_eval(app, action);
  cli::add_config(app, action);
  cli::add_prune(app, action);
  cli::add_score(app, action);
  cli::add_run(app, action);
  cli::add_results(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    logging::init("info");
    return action();
  } catch (const Error& e) {
    std::cerr << "kdprune: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "kdprune: internal error: " << e.what() << "\n";
    return 3;
  }
}
