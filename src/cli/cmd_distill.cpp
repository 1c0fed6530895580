#include <iostream>

#include "cli.h"

namespace kdprune::cli {

void add_distill(CLI::App& app, Action& action) {
  add_command(app, action, "distill",
              "train a student on a (pruned) training view with (1-alpha)*CE + alpha*KD from a teacher "
              "(kd.teacher); alpha may depend on the kept fraction f",
              [](commands::CommandOptions& opts) {
                const auto summary = commands::distill(opts);
                std::cout << "top1 " << summary["top1"].get<double>() << "  best_top1 "
                          << summary["best_top1"].get<double>() << "  alpha " << summary["alpha"].get<double>()
                          << "  f " << summary["f"].get<double>() << "  model "
                          << summary["model_file"].get<std::string>() << "\n";
                return 0;
              });
}

}  // namespace kdprune::cli
