#pragma once
// model.pt: a self-describing model file. Besides the weights it records the architecture, input
// channels, class count and dataset, so `eval` and `distill` can rebuild the model from the file
// alone. Written atomically.
#include <string>

#include "kdprune/models/model.h"

namespace kdprune::train {

struct ModelMeta {
  std::string arch;
  models::ModelSpec spec;  // input channels, classes, input height
  std::string dataset;
};

void save_model(const std::string& path, const models::Model& model, const ModelMeta& meta);

struct LoadedModel {
  models::Model model;
  ModelMeta meta;
};
// Throws kdprune::Error naming the file if it is missing, not a kdprune model file, or corrupt.
LoadedModel load_model(const std::string& path, const torch::Device& device);

}  // namespace kdprune::train
