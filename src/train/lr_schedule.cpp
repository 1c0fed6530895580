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

std::string unused_milestones(const TrainSection& t) {
  if (t.schedule != "multistep") return {};
  std::string late;
  for (int64_t m : t.milestones)
    if (m >= t.epochs) late += (late.empty() ? "" : ", ") + std::to_string(m);
  if (late.empty()) return {};
  return "train.milestones: " + late + " at or past the last epoch (train.epochs = " + std::to_string(t.epochs) +
         "): the learning rate never drops there; set milestones below " + std::to_string(t.epochs) +
         " (e.g. train.milestones=[" + std::to_string(t.epochs * 5 / 8) + "," + std::to_string(t.epochs * 3 / 4) + "," +
         std::to_string(t.epochs * 7 / 8) + "], RepDistiller's 150/180/210 of 240 scaled)";
}

}  // namespace kdprune::train
