#pragma once
// Model files. model.pt is self-describing: besides the weights it records the architecture,
// input channels, class count and dataset, so `eval` and `distill` can rebuild the model from the
// file alone. model.pth is the same model for PyTorch (torch.load(..., weights_only=True)). Files
// written by PyTorch's torch.save (a state_dict, or a checkpoint dict holding one) load too.
#include <string>
#include <vector>

#include "kdprune/models/model.h"

namespace kdprune::train {

struct ModelMeta {
  std::string arch;
  models::ModelSpec spec;  // input channels, classes, input height
  std::string dataset;     // "" when the file does not say (a PyTorch state_dict)
  std::vector<float> mean, std;  // the normalisation of x/255 the model was trained with (for export)
};

void save_model(const std::string& path, const models::Model& model, const ModelMeta& meta);
// model.pth: {"state_dict": ..., "arch", "classes", "in_channels", "image_size", "dataset",
// "mean", "std", "normalize"} for torch.load(path, weights_only=True).
void export_pytorch(const std::string& path, const models::Model& model, const ModelMeta& meta);

struct LoadedModel {
  models::Model model;
  ModelMeta meta;
};

// What the caller knows of the model a file should hold. A PyTorch state_dict does not name its
// architecture or dataset: the architecture is `arch` if given, else the file's own "arch" entry,
// else the one registered architecture whose parameter names and shapes all match; the input
// channels and classes are the dataset's (`spec`).
struct ModelExpectation {
  std::string arch;      // "" = from the file, or inferred
  std::string arch_key;  // where the user names it, for messages: "kd.teacher_arch", "--arch"
  models::ModelSpec spec;
  std::string dataset;
};

// Throws kdprune::Error naming the file if it is missing, corrupt, or not a model file; for
// PyTorch files, naming the first missing, extra or mis-shaped key and both shapes.
// Without an expectation, only kdprune's own model files load.
LoadedModel load_model(const std::string& path, const torch::Device& device, const ModelExpectation* expect = nullptr);

// The architecture of a model file without its dataset at hand: a kdprune file's record, a
// PyTorch file's own "arch" entry, else the one registered architecture its shapes fit (input
// channels from its first convolution, classes from its last linear layer). Throws
// kdprune::Error when the file is unreadable or fits no single architecture.
std::string model_file_arch(const std::string& path);

// The dataset a model file says it was trained on; "" if it does not say.
std::string model_file_dataset(const std::string& path);

}  // namespace kdprune::train
