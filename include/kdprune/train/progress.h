#pragma once
// Training progress: a one-line bar redrawn in place on a terminal (epoch, step, loss, images/s,
// ETA), plain log lines every `log_seconds` when stderr is not a terminal (log files, CI, Slurm).
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace kdprune::train {

// Seconds as m:ss or h:mm:ss.
std::string clock_text(double seconds);

class Progress {
 public:
  // `start_step`: the step of `start_epoch` it starts at (a group's line moving to another cohort).
  Progress(int64_t epochs, int64_t steps_per_epoch, int64_t start_epoch, double log_seconds = 30.0, int64_t start_step = 0);
  ~Progress();
  // Called every step; `loss` is only evaluated (a device sync) when something is shown.
  void step(int64_t epoch, int64_t step, int64_t images, const std::function<double()>& loss);
  // Images trained elsewhere (a group's other cohorts), counted in the images/s shown.
  void add_images(int64_t images) { images_ += images; }
  void end_epoch();  // clears the bar so the epoch's log line starts on a clean line

 private:
  using Clock = std::chrono::steady_clock;
  int64_t epochs_, steps_, start_epoch_, start_step_;
  double log_seconds_;
  bool tty_;
  Clock::time_point start_, last_shown_;
  int64_t images_ = 0;
  bool bar_visible_ = false;
};

}  // namespace kdprune::train
