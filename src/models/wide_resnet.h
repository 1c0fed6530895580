#pragma once
// Wide ResNets (wrn_D_K), pre-activation, as in RepDistiller's wrn.py (names included).
#include "kdprune/models/model.h"

namespace kdprune::models {

Model make_wide_resnet(int64_t depth, int64_t widen, int64_t in_channels, int64_t classes);

template <int Depth, int Widen>
Model wide_resnet(const ModelSpec& s) {
  return make_wide_resnet(Depth, Widen, s.in_channels, s.classes);
}

}  // namespace kdprune::models
