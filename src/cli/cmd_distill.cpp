#include <algorithm>
#include <iostream>
#include <set>
#include <sstream>

#include "cli.h"
#include "kdprune/commands/process_setup.h"
#include "kdprune/util/error.h"

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
  auto given = std::make_shared<CLI::Option*>(nullptr);
  auto* sub = add_command(
      app, action, "distill",
      "train a student on a (pruned) training view with (1-alpha)*CE + alpha*KD from a teacher "
      "(kd.teacher); alpha may depend on the kept fraction f",
      [alphas, given](commands::CommandOptions& opts) {
        const bool many = *given && (*given)->count() > 0;
        const auto list = split_commas(*alphas);
        // An empty list or item would silently train the config's one alpha; a repeat, two
        // students in one run directory.
        if (many && (list.empty() || std::find(list.begin(), list.end(), "") != list.end()))
          throw Error("--alphas '" + *alphas + "': expected comma-separated alphas, e.g. --alphas 0,0.5,0.9");
        std::set<std::string> seen;
        for (const auto& a : list)
          if (!seen.insert(a).second) throw Error("--alphas '" + *alphas + "': alpha " + a + " is listed twice");
        const auto summaries = !many ? std::vector<nlohmann::json>{commands::distill(opts)}
                                     : commands::distill_alphas(opts, list);
        for (const auto& summary : summaries)
          if (commands::prints_result())
          std::cout << "top1 " << summary["top1"].get<double>() << "  best_top1 " << summary["best_top1"].get<double>()
                    << "  alpha " << summary["alpha"].get<double>() << "  f " << summary["f"].get<double>() << "  model "
                    << summary["model_file"].get<std::string>() << "\n";
        return 0;
      });
  *given = sub->add_option("--alphas", *alphas,
                  "comma-separated: train one student per alpha together in this process (one batch and one "
                  "teacher forward per step, shared); run directories <run.name>-alpha<a>");
}

}  // namespace kdprune::cli
