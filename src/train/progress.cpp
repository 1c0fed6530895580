#include "kdprune/train/progress.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace kdprune::train {

std::string clock_text(double s) {
  const auto t = static_cast<int64_t>(s);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(t / 3600),
                               static_cast<long long>(t / 60 % 60), static_cast<long long>(t % 60));
  else std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(t / 60), static_cast<long long>(t % 60));
  return buf;
}

Progress::Progress(int64_t epochs, int64_t steps_per_epoch, int64_t start_epoch, double log_seconds, int64_t start_step)
    : epochs_(epochs), steps_(steps_per_epoch), start_epoch_(start_epoch), start_step_(start_step), log_seconds_(log_seconds),
      tty_(isatty(fileno(stderr)) != 0), start_(Clock::now()), last_shown_(start_) {}

Progress::~Progress() { end_epoch(); }

void Progress::step(int64_t epoch, int64_t step, int64_t images, const std::function<double()>& loss) {
  images_ += images;
  const auto now = Clock::now();
  const double since = std::chrono::duration<double>(now - last_shown_).count();
  if (since < (tty_ ? 0.25 : log_seconds_)) return;
  last_shown_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const int64_t done = (epoch - start_epoch_) * steps_ + step + 1 - start_step_;
  const int64_t total = (epochs_ - start_epoch_) * steps_ - start_step_;
  const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(total - done) : 0.0;
  const double ips = elapsed > 0 ? static_cast<double>(images_) / elapsed : 0.0;
  const double l = loss();
  if (tty_) {
    constexpr int width = 24;
    const int filled = static_cast<int>(width * (step + 1) / std::max<int64_t>(1, steps_));
    std::fprintf(stderr, "\r\033[Kepoch %lld/%lld [%s%s] %lld/%lld  loss %.4f  %.0f img/s  ETA %s",
                 static_cast<long long>(epoch + 1), static_cast<long long>(epochs_), std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), static_cast<long long>(step + 1),
                 static_cast<long long>(steps_), l, ips, clock_text(eta).c_str());
    std::fflush(stderr);
    bar_visible_ = true;
  } else {
    spdlog::info("epoch {}/{} step {}/{}  loss {:.4f}  {:.0f} img/s  ETA {}", epoch + 1, epochs_, step + 1, steps_, l,
                 ips, clock_text(eta));
  }
}

void Progress::end_epoch() {
  if (!bar_visible_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  bar_visible_ = false;
}

}  // namespace kdprune::train
