#include <iostream>

#include "cli.h"

namespace kdprune::cli {

void add_eval(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("eval", "evaluate a model.pt on the test split of data.*");
  auto opts = std::make_shared<commands::CommandOptions>();
  auto model = std::make_shared<std::string>();
  sub->add_option("--model,-m", *model, "model file written by train-teacher (runs/<name>/model.pt)")->required();
  add_common_options(*sub, *opts);
  sub->callback([&action, opts, model] {
    action = [opts, model] {
      const auto summary = commands::eval_model(*opts, *model);
      std::cout << "top1 " << summary["top1"].get<double>() << "  top5 " << summary["top5"].get<double>() << "  loss "
                << summary["test_loss"].get<double>() << "\n";
      return 0;
    };
  });
}

}  // namespace kdprune::cli
