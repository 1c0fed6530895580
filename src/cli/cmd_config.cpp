#include <iostream>

#include "cli.h"
#include "kdprune/commands/name_checks.h"

namespace kdprune::cli {

void add_config(CLI::App& app, Action& action) {
  add_command(app, action, "config",
              "print the resolved config (defaults + --config file + overrides) as YAML, its keys, types, ranges, "
              "cross-key rules and the names the registries know (data.name, model.arch, kd.loss, kd.extra, "
              "prune.method) checked (kdprune run files: kdprune run --dry-run)",
              [](commands::CommandOptions& opts) {
                const Config c = load_config(opts.config_path, opts.overrides);
                commands::check_registered_names(c, {.model = true, .kd = true, .prune = true});
                std::cout << to_yaml(c);
                return 0;
              });
}

}  // namespace kdprune::cli
