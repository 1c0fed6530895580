#include <algorithm>
#include <array>
#include <filesystem>
#include <iostream>
#include <new>

#include "cli.h"
#include "kdprune/commands/process_setup.h"
#include "kdprune/util/error.h"
#include "kdprune/util/logging.h"
#include "kdprune/config/config_lookup.h"
#include "kdprune/version.h"

namespace kdprune::cli {
CLI::App* add_command(CLI::App& app, Action& action, const std::string& name, const std::string& help,
                      std::function<int(commands::CommandOptions&)> run) {
  auto* sub = app.add_subcommand(name, help);
  auto opts = std::make_shared<commands::CommandOptions>();
  sub->add_option("--config,-c", opts->config_path,
                  "YAML config file, or a shipped config by name (cifar100_f0.1.yaml = configs/cifar100/f0.1.yaml)");
  // Only the commands that write a run directory take --force and --resume (`run` refuses them
  // with its own message: its stages are reused or resumed by themselves).
  const bool trains = name != "info" && name != "config" && name != "eval" && name != "export" && name != "samples";
  if (trains) {
    sub->add_flag("--force", opts->force, "overwrite an existing run directory of the same run.name");
    sub->add_flag("--resume", opts->resume, "continue the unfinished run of the same run.name and config from its last checkpoint");
  }
  // The example fits the command: eval, export, info and samples train nothing.
  sub->add_option("overrides", opts->overrides,
                  trains || name == "config" ? "section.key=value overrides, e.g. train.epochs=10 'train.milestones=[5,8]'"
                                             : "section.key=value overrides, e.g. data.root=~/data run.device=cuda");
  sub->callback([&action, opts, run = std::move(run)] {
    action = [opts, run] {
      opts->config_path = resolve_config_path(opts->config_path);
      return run(*opts);
    };
  });
  return sub;
}
}  // namespace kdprune::cli

int main(int argc, char** argv) {
  using namespace kdprune;
  commands::prepare_process(argc, argv);  // signals, OpenMP's waiting: before anything else runs
  CLI::App app{"kdprune: training on pruned datasets with knowledge distillation", "kdprune"};
  app.set_version_flag("--version,-V", std::string("kdprune ") + KDPRUNE_VERSION + " (commit " + git_commit() + ")");
  app.require_subcommand(1);
  cli::Action action;
  cli::add_info(app, action);
  cli::add_train_teacher(app, action);
  cli::add_distill(app, action);
  cli::add_eval(app, action);
  cli::add_export(app, action);
  cli::add_config(app, action);
  cli::add_prune(app, action);
  cli::add_score(app, action);
  cli::add_run(app, action);
  cli::add_results(app, action);
  cli::add_samples(app, action);
  cli::add_theory(app, action);
  // Every help ends with examples and the page to read next, by its path where this kdprune's docs
  // are (installed: <prefix>/share/doc/kdprune; a build: the checkout).
  const std::string docs = docs_dir();
  auto doc = [&](const std::string& page) { return docs.empty() ? page : docs + "/" + page; };
  app.footer(
      "Examples:\n"
      "  kdprune run --config fashion_mnist_quickstart.yaml --dry-run\n"
      "  kdprune distill --config cifar100_f0.1.yaml data.root=~/data\n"
      "Docs: " + doc("README.md") + ", " + doc("docs/config.md") + " (every key), " + doc("docs/experiments.md") +
      " (kdprune run)");
  const std::vector<std::array<const char*, 3>> help = {
      {"train-teacher", "kdprune train-teacher --config fashion_mnist_teacher.yaml\n  kdprune train-teacher --config cifar100_teacher.yaml --resume", "docs/training.md"},
      {"distill", "kdprune distill --config fashion_mnist_distill.yaml kd.alpha=0.5\n  kdprune distill --config cifar100_f0.1.yaml kd.teacher=runs/teacher/model.pt", "docs/distillation.md"},
      {"score", "kdprune score --config fashion_mnist_score.yaml score.method=el2n\n  kdprune score --checkpoint runs/fmnist-teacher-resnet20/model.pt score.method=moderate data.name=fashion-mnist", "docs/pruning.md"},
      {"prune", "kdprune prune --scores runs/score/scores.npy prune.fraction=0.1\n  kdprune prune prune.method=random prune.fraction=0.3", "docs/pruning.md"},
      {"eval", "kdprune eval --checkpoint runs/x/model.pt\n  kdprune eval --checkpoint ckpt_epoch_240.pth data.name=cifar100 data.root=~/data", "docs/training.md"},
      {"export", "kdprune export --checkpoint runs/x/model.pt --out x.pth", "docs/training.md"},
      {"config", "kdprune config --config cifar100_f0.1.yaml train.epochs=5", "docs/config.md"},
      {"info", "kdprune info\n  kdprune info --dataset cifar10 data.root=~/data", "docs/datasets.md"},
      {"run", "kdprune run --config fashion_mnist_quickstart.yaml --dry-run\n  kdprune run --config cifar100_sweep_alpha_f.yaml --only teacher", "docs/experiments.md"},
      {"results", "kdprune results runs/my-experiment --out results.csv", "docs/experiments.md"},
      {"samples", "kdprune samples --scores runs/score-forgetting/scores.npy --top 10 --bottom 10 --out fig2.json\n  scripts/plot_samples.py runs/score-forgetting/scores.npy --top 10 --bottom 10 --out fig2.png", "docs/pruning.md"},
      {"theory", "kdprune theory ridge --d 50 --n 200 --f 0.3 --ft 0.3,0.6,1 --lambda 1 --alphas 0:1:0.1 --out ridge.csv", "docs/theory.md"},
  };
  for (const auto& [name, examples, page] : help)
    if (auto* sub = app.get_subcommand(name)) sub->footer(std::string("Examples:\n  ") + examples + "\nDocs: " + doc(page));
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
  } catch (const InternalError& e) {  // a bug, not the input: said so, with the code of other internal failures
    const std::string what = e.what();
    std::cerr << "kdprune: " << what.substr(0, what.find('\n')) << " (a bug in kdprune: please report it)\n";
    return 3;
  } catch (const Error& e) {
    // One line: a library message wrapped into ours may carry its own trace ("Exception raised
    // from ...", "frame #0"); everything after the first line is dropped.
    const std::string what = e.what();
    std::cerr << "kdprune: error: " << what.substr(0, what.find('\n')) << "\n";
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
