#pragma once
// The initialisation the PyTorch reference ResNets use: conv weights Kaiming-normal (fan_out,
// ReLU), BatchNorm weight 1 / bias 0, linear layers left at PyTorch's default.
#include <torch/torch.h>

namespace kdprune::models {

inline void init_resnet_weights(torch::nn::Module& root) {
  namespace nn = torch::nn;
  for (auto& m : root.modules(false)) {
    if (auto* c = m->as<nn::Conv2d>()) nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    if (auto* b = m->as<nn::BatchNorm2d>()) {
      nn::init::ones_(b->weight);
      nn::init::zeros_(b->bias);
    }
  }
}

}  // namespace kdprune::models
