#pragma once
// The training tests' fixture: a tiny synthetic dataset on the CPU (1×8×8 images, 4 classes).
#include "kdprune/data/dataset_registry.h"

namespace kdprune::test {

inline data::TensorDataset tiny_synthetic(int64_t train, int64_t test, int64_t seed = 1) {
  DataSection d;
  d.name = "synthetic";
  d.synthetic = {train, test, 1, 8, 8, 4, 0.5};
  return data::to_tensors(data::load_dataset(d, seed), torch::Device(torch::kCPU));
}

}  // namespace kdprune::test
