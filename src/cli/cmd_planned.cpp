// Subcommands whose milestone has not landed: they parse like the others and then say so.
#include <iostream>

#include "cli.h"

namespace kdprune::cli {

void add_planned(CLI::App& app, Action& action) {
  struct Planned {
    const char* name;
    const char* help;
  };
  static const Planned planned[] = {
      {"score", "compute a per-sample pruning score (forgetting, EL2N, GraNd, Moderate, ...)"},
  };
  for (const auto& p : planned) {
    auto* sub = app.add_subcommand(p.name, std::string(p.help) + " [not built yet]");
    auto opts = std::make_shared<commands::CommandOptions>();
    add_common_options(*sub, *opts);
    sub->allow_extras();
    const std::string name = p.name;
    sub->callback([&action, name] {
      action = [name] {
        std::cerr << "kdprune: '" << name << "' is not built yet in this version; see the issue tracker / README\n";
        return 2;
      };
    });
  }
}

}  // namespace kdprune::cli
