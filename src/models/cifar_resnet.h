#pragma once
// CIFAR-style ResNets of the KD literature (RepDistiller's resnet.py layout and parameter names).
#include "kdprune/models/model.h"

namespace kdprune::models {

Model make_cifar_resnet(int64_t depth, int64_t width_mult, int64_t in_channels, int64_t classes);

template <int Depth, int Mult>
Model cifar_resnet(const ModelSpec& s) {
  return make_cifar_resnet(Depth, Mult, s.in_channels, s.classes);
}

}  // namespace kdprune::models
