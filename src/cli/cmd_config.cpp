#include <iostream>

#include "cli.h"

namespace kdprune::cli {

void add_config(CLI::App& app, Action& action) {
  add_command(app, action, "config",
              "print the resolved config (defaults + --config file + overrides) as YAML, validated exactly as a run "
              "would validate it",
              [](commands::CommandOptions& opts) {
                std::cout << to_yaml(load_config(opts.config_path, opts.overrides));
                return 0;
              });
}

}  // namespace kdprune::cli
