#pragma once
// Learning rate as a pure function of the position in training, so a resumed run gets the same
// rate at the same step: linear warm-up (per step), then multistep / cosine / constant (per epoch).
#include <cstdint>

#include "kdprune/config/config.h"

namespace kdprune::train {

// epoch is 0-based; step/steps_per_epoch locate the batch inside it (used by the warm-up).
double lr_at(const TrainSection& t, int64_t epoch, int64_t step, int64_t steps_per_epoch);

}  // namespace kdprune::train
