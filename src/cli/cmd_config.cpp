#include <iostream>

#include "cli.h"

namespace kdprune::cli {

void add_config(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("config", "print the resolved config (defaults + --config file + overrides) as "
                                           "YAML, validated exactly as a run would validate it");
  auto opts = std::make_shared<commands::CommandOptions>();
  add_common_options(*sub, *opts);
  sub->callback([&action, opts] {
    action = [opts] {
      std::cout << to_yaml(load_config(opts->config_path, opts->overrides));
      return 0;
    };
  });
}

}  // namespace kdprune::cli
