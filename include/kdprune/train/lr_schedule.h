#pragma once
// Learning rate as a pure function of the position in training, so a resumed run gets the same
// rate at the same step: linear warm-up (per step), then multistep / cosine / constant (per epoch).
#include <cstdint>
#include <string>

#include "kdprune/config/config.h"

namespace kdprune::train {

// epoch is 0-based; step/steps_per_epoch locate the batch inside it (used by the warm-up).
double lr_at(const TrainSection& t, int64_t epoch, int64_t step, int64_t steps_per_epoch);

// What in a multistep schedule never takes effect: milestones at or past train.epochs (the rate
// would drop only after the last epoch), named with the epoch count; "" when every one applies.
std::string unused_milestones(const TrainSection& t);

}  // namespace kdprune::train
