#pragma once
// The start every run-directory-writing subcommand shares: resolve the config, open the run
// directory and its log, pick the device, load the dataset onto it.
#include <torch/torch.h>

#include "kdprune/commands/commands.h"
#include "kdprune/data/tensor_dataset.h"
#include "kdprune/io/run_dir.h"

namespace kdprune::commands {

struct Session {
  Config config;
  io::RunDir run;
  torch::Device device;
  data::TensorDataset data;
};

// Everything that can fail on bad input (config, dataset files, device) is checked before the
// run directory is created, so a failed start leaves nothing behind.
Session open_session(const std::string& command, const CommandOptions& opts);

}  // namespace kdprune::commands
