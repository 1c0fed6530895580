#include <iostream>
#include <sstream>

#include "cli.h"

namespace kdprune::cli {
namespace {
std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}
}  // namespace

void add_distill(CLI::App& app, Action& action) {
  auto alphas = std::make_shared<std::string>();
  auto* sub = add_command(
      app, action, "distill",
      "train a student on a (pruned) training view with (1-alpha)*CE + alpha*KD from a teacher "
      "(kd.teacher); alpha may depend on the kept fraction f",
      [alphas](commands::CommandOptions& opts) {
        const auto summaries = alphas->empty() ? std::vector<nlohmann::json>{commands::distill(opts)}
                                               : commands::distill_alphas(opts, split_commas(*alphas));
        for (const auto& summary : summaries)
          std::cout << "top1 " << summary["top1"].get<double>() << "  best_top1 " << summary["best_top1"].get<double>()
                    << "  alpha " << summary["alpha"].get<double>() << "  f " << summary["f"].get<double>() << "  model "
                    << summary["model_file"].get<std::string>() << "\n";
        return 0;
      });
  sub->add_option("--alphas", *alphas,
                  "comma-separated: train one student per alpha together in this process (one batch and one "
                  "teacher forward per step, shared); run directories <run.name>-alpha<a>");
}

}  // namespace kdprune::cli
