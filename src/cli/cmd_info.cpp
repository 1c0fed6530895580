#include <iostream>

#include "cli.h"

namespace kdprune::cli {

void add_info(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("info", "LibTorch/CUDA versions and devices, registered datasets, models, pruners, "
                                         "KD losses; with --dataset, a summary of that dataset");
  auto opts = std::make_shared<commands::CommandOptions>();
  auto dataset = std::make_shared<std::string>();
  sub->add_option("--dataset,-d", *dataset, "load this dataset (data.name) and print its sizes, shape and classes");
  add_common_options(*sub, *opts);
  sub->callback([&action, opts, dataset] {
    action = [opts, dataset] {
      if (dataset->empty()) {
        std::cout << commands::info_report();
      } else {
        opts->overrides.insert(opts->overrides.begin(), "data.name=" + *dataset);
        std::cout << commands::dataset_report(*opts);
      }
      return 0;
    };
  });
}

}  // namespace kdprune::cli
