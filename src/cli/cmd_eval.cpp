#include <cstdio>

#include "cli.h"

namespace kdprune::cli {

void add_eval(CLI::App& app, Action& action) {
  auto checkpoint = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto arch = std::make_shared<std::string>();
  auto* sub =
      add_command(app, action, "eval", "evaluate a model.pt on a test split: top-1/top-5, loss, per-class accuracy",
                  [checkpoint, out, arch](commands::CommandOptions& opts) {
                    const auto r = commands::eval_model(opts, *checkpoint, *out, *arch);
                    std::printf("%s on %s: top1 %.2f%%  top5 %.2f%%  loss %.4f  (%lld images)\n",
                                r["arch"].get<std::string>().c_str(), r["dataset"].get<std::string>().c_str(),
                                r["top1"].get<double>(), r["top5"].get<double>(), r["loss"].get<double>(),
                                static_cast<long long>(r["test_size"].get<int64_t>()));
                    return 0;
                  });
  sub->add_option("--checkpoint,--model,-m", *checkpoint, "model.pt of a kdprune run, or a PyTorch torch.save file (a state_dict, or a checkpoint dict holding one)")
      ->required();
  sub->add_option("--arch", *arch,
                  "architecture of a PyTorch file (default: its 'arch' entry, else inferred from the parameter shapes)");
  sub->add_option("--out,-o", *out, "where to write the JSON result (default: eval.json beside the checkpoint)");
}

}  // namespace kdprune::cli
