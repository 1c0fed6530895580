#include <algorithm>
#include <filesystem>
#include <iostream>
#include <new>

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
  // Only the commands that write a run directory take --force and --resume (`run` refuses them
  // with its own message: its stages are reused or resumed by themselves).
  if (name != "info" && name != "config" && name != "eval") {
    sub->add_flag("--force", opts->force, "overwrite an existing run directory of the same run.name");
    sub->add_flag("--resume", opts->resume, "continue the unfinished run of the same run.name and config from its last checkpoint");
  }
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
  // CLI11 answers an unknown first word with "A subcommand is required"; name the word instead.
  const auto subcommands = app.get_subcommands([](CLI::App*) { return true; });
  if (argc > 1 && argv[1][0] != '-' &&
      std::none_of(subcommands.begin(), subcommands.end(), [&](CLI::App* sub) { return sub->get_name() == argv[1]; })) {
    std::string known;
    for (const auto* sub : subcommands) known += (known.empty() ? "" : ", ") + sub->get_name();
    std::cerr << "kdprune: error: unknown command '" << argv[1] << "' (expected one of: " << known
              << "; see kdprune --help)\n";
    return 1;
  }
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
  } catch (const std::bad_alloc&) {
    std::cerr << "kdprune: error: out of memory (a dataset, batch or model larger than this machine holds?)\n";
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    std::cerr << "kdprune: error: " << e.what() << "\n";  // names the path and the system's reason
    return 1;
  } catch (const std::exception& e) {
    // Never a library's multi-line trace: its first line says what failed.
    const std::string what = e.what();
    std::cerr << "kdprune: internal error: " << what.substr(0, what.find('\n')) << "\n";
    return 3;
  }
}
