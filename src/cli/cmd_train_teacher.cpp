#include <iostream>

#include "cli.h"
#include "kdprune/commands/process_setup.h"

namespace kdprune::cli {

void add_train_teacher(CLI::App& app, Action& action) {
  add_command(app, action, "train-teacher",
              "train a model (a teacher, or a baseline without KD) on the training view of data.* and evaluate it",
              [](commands::CommandOptions& opts) {
                const auto summary = commands::train_teacher(opts);
                if (commands::prints_result())
                  std::cout << "top1 " << summary["top1"].get<double>() << "  best_top1 "
                          << summary["best_top1"].get<double>() << "  model "
                          << summary["model_file"].get<std::string>() << "\n";
                return 0;
              });
}

}  // namespace kdprune::cli
