#pragma once
// ImageNet-style ResNets in torchvision's layout and names (resnet18/34/50). For small inputs
// (image_size <= 64, e.g. CIFAR/SVHN as DeepCore scores them) the stem is a 3×3 stride-1 conv
// without max-pool; otherwise torchvision's 7×7 stride-2 conv + max-pool.
#include "kdprune/models/model.h"

namespace kdprune::models {

Model make_imagenet_resnet(int64_t depth, const ModelSpec& spec);

template <int Depth>
Model imagenet_resnet(const ModelSpec& s) {
  return make_imagenet_resnet(Depth, s);
}

}  // namespace kdprune::models
