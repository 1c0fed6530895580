#pragma once
// The inputs the trainer benchmarks time: synthetic CIFAR-size data (3×32×32, 8 test images) on
// the device, every training index, and a frozen random teacher.
#include <numeric>
#include <string>
#include <vector>

#include "kdprune/data/dataset_registry.h"
#include "kdprune/data/tensor_dataset.h"
#include "kdprune/models/model.h"

namespace kdprune::bench {

struct BenchData {
  data::TensorDataset data;
  std::vector<int64_t> all;  // 0 .. images-1
};

inline BenchData synthetic_cifar(int64_t images, int64_t classes, const torch::Device& device) {
  DataSection d;
  d.name = "synthetic";
  d.synthetic = {images, 8, 3, 32, 32, classes, 0.5};
  BenchData b{data::to_tensors(data::load_dataset(d, 0), device), std::vector<int64_t>(static_cast<size_t>(images))};
  std::iota(b.all.begin(), b.all.end(), 0);
  return b;
}

// A random teacher (seed 1) in eval mode on the device.
inline models::Model frozen_teacher(const std::string& arch, int64_t classes, const torch::Device& device) {
  torch::manual_seed(1);
  auto teacher = models::create_model(arch, {3, classes, 32});
  teacher->to(device);
  teacher->eval();
  return teacher;
}

}  // namespace kdprune::bench
