#include <cstdio>

#include "cli.h"

namespace kdprune::cli {

void add_export(CLI::App& app, Action& action) {
  auto checkpoint = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* sub = add_command(app, action, "export", "write a model.pt as a PyTorch file (torch.load(path, weights_only=True))",
                          [checkpoint, out](commands::CommandOptions&) {
                            const auto r = commands::export_model(*checkpoint, *out);
                            std::printf("%s\n", r["out"].get<std::string>().c_str());
                            return 0;
                          });
  sub->add_option("--checkpoint,--model,-m", *checkpoint, "model.pt (or best.pt) of a kdprune run")->required();
  sub->add_option("--out,-o", *out, "the PyTorch file to write (default: the model file with extension .pth)");
}

}  // namespace kdprune::cli
