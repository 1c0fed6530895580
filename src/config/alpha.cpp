#include <algorithm>

#include "kdprune/config/config.h"

namespace kdprune {

double AlphaSpec::at(double f) const {
  if (schedule == "constant" || at_f.empty()) return value;
  // linear (two points) and table (several) are both piecewise linear, clamped outside
  if (f <= at_f.front()) return values.front();
  if (f >= at_f.back()) return values.back();
  const auto hi = static_cast<size_t>(std::upper_bound(at_f.begin(), at_f.end(), f) - at_f.begin());
  const size_t lo = hi - 1;
  const double t = (f - at_f[lo]) / (at_f[hi] - at_f[lo]);
  return values[lo] + t * (values[hi] - values[lo]);
}

}  // namespace kdprune
