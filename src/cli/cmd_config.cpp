#include <iostream>

#include "cli.h"

namespace kdprune::cli {

void add_config(CLI::App& app, Action& action) {
  add_command(app, action, "config",
              "print the resolved config (defaults + --config file + overrides) as YAML, its keys, types, ranges and "
              "cross-key rules checked (names the registries know, such as model.arch, and run.name are checked when "
              "a command runs; kdprune run files: kdprune run --dry-run)",
              [](commands::CommandOptions& opts) {
                std::cout << to_yaml(load_config(opts.config_path, opts.overrides));
                return 0;
              });
}

}  // namespace kdprune::cli
