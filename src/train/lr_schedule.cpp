#include "kdprune/train/lr_schedule.h"

#include <cmath>
#include <numbers>

namespace kdprune::train {

double lr_at(const TrainSection& t, int64_t epoch, int64_t step, int64_t steps_per_epoch) {
  if (epoch < t.warmup_epochs) {
    const double done = static_cast<double>(epoch * steps_per_epoch + step + 1);
    return t.lr * done / static_cast<double>(t.warmup_epochs * steps_per_epoch);
  }
  if (t.schedule == "multistep") {
    // RepDistiller: with 1-based epochs, lr·γ^(#milestones < epoch); 0-based: milestones <= epoch.
    double lr = t.lr;
    for (int64_t m : t.milestones)
      if (epoch >= m) lr *= t.gamma;
    return lr;
  }
  if (t.schedule == "cosine") {
    const double span = static_cast<double>(t.epochs - t.warmup_epochs);
    const double pos = static_cast<double>(epoch - t.warmup_epochs);
    return span <= 0 ? t.lr : 0.5 * t.lr * (1.0 + std::cos(std::numbers::pi * pos / span));
  }
  return t.lr;  // constant
}

}  // namespace kdprune::train
