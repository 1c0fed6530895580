#pragma once
// Files that Python's torch.save writes and torch.load reads: the zip format (torch >= 1.6) and
// the legacy format before it, read through kdprune's own pickle reader (no Python), and written
// so that `torch.load(path, weights_only=True)` accepts them.
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace kdprune::train {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct PyTorchStateDict {
  NamedTensors tensors;     // in the file's order
  std::string found_under;  // "" (the file is the state_dict), or the key holding it: "model", "state_dict", "net"
  nlohmann::json meta;      // the plain values beside it (strings, numbers, lists of them), e.g. kdprune's "arch"
};

// Whether `path` is a torch.save file (zip with data.pkl and no TorchScript code, or the legacy
// format's magic number), as opposed to a LibTorch archive (model.pt, checkpoint.pt).
bool is_torch_save_file(const std::string& path);

// Reads the state_dict: the file's top-level dict of tensors, or the one under "state_dict",
// "model" or "net". Other Python objects in the file (numpy scalars, optimizer state, argparse
// Namespaces) are skipped. `what` names the file in messages.
PyTorchStateDict read_torch_save_state_dict(const std::string& path, const std::string& what);

// Writes {"state_dict": OrderedDict(name -> tensor), <meta keys>: plain values} in torch.save's zip
// format, atomically. Tensors are written contiguous, on the CPU.
void write_torch_save(const std::string& path, const NamedTensors& tensors, const nlohmann::json& meta);

}  // namespace kdprune::train
