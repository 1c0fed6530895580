#include <iostream>

#include "cli.h"

namespace kdprune::cli {

void add_info(CLI::App& app, Action& action) {
  auto dataset = std::make_shared<std::string>();
  auto* sub = add_command(app, action, "info",
                          "LibTorch/CUDA versions and devices, registered datasets, models, pruners, KD losses; with "
                          "--dataset, a summary of that dataset",
                          [dataset](commands::CommandOptions& opts) {
                            if (dataset->empty()) {
                              std::cout << commands::info_report();
                            } else {
                              opts.overrides.insert(opts.overrides.begin(), "data.name=" + *dataset);
                              std::cout << commands::dataset_report(opts);
                            }
                            return 0;
                          });
  sub->add_option("--dataset,-d", *dataset, "load this dataset (data.name) and print its sizes, shape and classes");
}

}  // namespace kdprune::cli
