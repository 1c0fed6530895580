#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "kdprune/commands/theory.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/io/csv_table.h"
#include "kdprune/theory/ridge.h"
#include "kdprune/util/error.h"

namespace kdprune::commands {
namespace {

double parse_number(const std::string& text, const std::string& option, const std::string& spec) {
  size_t used = 0;
  double v = std::numeric_limits<double>::quiet_NaN();
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(v))
    throw Error(option + ": '" + text + "' in '" + spec + "' is not a finite number");
  return v;
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

void check(const RidgeTableOptions& o) {
  if (o.d < 1) throw Error("--d: the dimension must be >= 1, got " + std::to_string(o.d));
  if (o.n < 1) throw Error("--n: the number of samples must be >= 1, got " + std::to_string(o.n));
  if (!(o.f > 0 && o.f <= 1)) throw Error("--f: the student's fraction must lie in (0, 1], got " + num(o.f));
  if (std::llround(o.f * static_cast<double>(o.n)) < 1)
    throw Error("--f: f·n = " + num(o.f * static_cast<double>(o.n)) + " rounds to no sample; raise --f or --n");
  for (double t : o.f_t)
    if (!(t >= o.f && t <= 1))
      throw Error("--ft: a teacher's fraction must lie in [f, 1] = [" + num(o.f) + ", 1] (the student's samples inside the "
                  "teacher's), got " + num(t));
  if (!(o.lambda > 0) || !std::isfinite(o.lambda))
    throw Error("--lambda: the ridge penalty must be > 0 (the theorem's domain), got " + num(o.lambda));
  if (!(o.sigma >= 0) || !std::isfinite(o.sigma)) throw Error("--sigma: the noise level must be >= 0, got " + num(o.sigma));
  for (double a : o.alphas)
    if (!(a >= 0) || !std::isfinite(a)) throw Error("--alphas: each α must be a finite number >= 0, got " + num(a));
  if (o.mc_draws == 1 || o.mc_draws < 0)
    throw Error("--mc: Monte Carlo needs at least 2 draws (0: none), got " + std::to_string(o.mc_draws));
}

std::string csv_of(const RidgeTableOptions& o, const RidgeTable& t) {
  std::string csv =
      "d,n,lambda,sigma,seed,f,n_f,f_t,n_t,alpha,bias2,variance,total,bias2_isotropic,worst_gap,isotropic_gap,alpha_star,"
      "bias2_mc,variance_mc\n";
  auto field = [](double v) { return std::isnan(v) ? std::string() : std::isinf(v) ? std::string("inf") : io::csv_field(v); };
  for (const auto& r : t.rows)
    csv += std::to_string(o.d) + "," + std::to_string(o.n) + "," + field(o.lambda) + "," + field(o.sigma) + "," +
           std::to_string(o.seed) + "," + field(o.f) + "," + std::to_string(t.n_f) + "," + field(r.f_t) + "," +
           std::to_string(r.n_t) + "," + field(r.alpha) + "," + field(r.bias2) + "," + field(r.variance) + "," +
           field(r.total) + "," + field(r.bias2_isotropic) + "," + field(r.worst_gap) + "," + field(r.isotropic_gap) + "," +
           field(r.alpha_star) + "," + field(r.bias2_mc) + "," + field(r.variance_mc) + "\n";
  return csv;
}

// The table for the terminal, then per teacher what Theorem 3.1 says against what was computed.
std::string text_of(const RidgeTableOptions& o, const RidgeTable& t, const std::vector<double>& fts) {
  const bool mc = o.mc_draws > 0;
  char line[256];
  std::string s = "ridge: d = " + std::to_string(o.d) + ", n = " + std::to_string(o.n) + ", student f = " + num(o.f) +
                  " (n_f = " + std::to_string(t.n_f) + "), lambda = " + num(o.lambda) + ", sigma = " + num(o.sigma) +
                  ", seed " + std::to_string(o.seed) + ", ‖θ*‖ = 1\n";
  std::snprintf(line, sizeof line, "%6s %6s %12s %12s %12s %12s %12s%s\n", "f_t", "alpha", "bias2", "variance", "total",
                "bias2_iso", "worst_gap", mc ? "     bias2_mc  variance_mc" : "");
  s += line;
  for (const auto& r : t.rows) {
    std::snprintf(line, sizeof line, "%6.3g %6.3g %12.6g %12.6g %12.6g %12.6g %12.4g", r.f_t, r.alpha, r.bias2, r.variance,
                  r.total, r.bias2_isotropic, r.worst_gap);
    s += line;
    if (mc) {
      std::snprintf(line, sizeof line, " %12.6g %12.6g", r.bias2_mc, r.variance_mc);
      s += line;
    }
    s += "\n";
  }
  for (double ft : fts) {
    if (ft == o.f) continue;
    double own_max = -1, worst = -std::numeric_limits<double>::infinity(), star = 0;
    std::string fails_this, fails_any;
    for (const auto& r : t.rows) {
      if (r.f_t != ft) continue;
      star = r.alpha_star;
      worst = std::max(worst, r.worst_gap);
      for (const auto& own : t.rows)
        if (own.f_t == o.f && own.alpha == r.alpha && r.bias2 > own.bias2 + 1e-12 * std::max(1.0, own.bias2))
          fails_this += (fails_this.empty() ? "" : ", ") + num(r.alpha);
      if (r.worst_gap > 1e-12) fails_any += (fails_any.empty() ? "" : ", ") + num(r.alpha);
      own_max = std::max(own_max, r.alpha);
    }
    s += "f_t = " + num(ft) + ": this θ*: " +
         (fails_this.empty() ? std::string("bias² <= the own-data teacher's at every α")
                             : "bias² above the own-data teacher's at α = " + fails_this) +
         "; worst θ*: " +
         (fails_any.empty() ? std::string("none above") : "above at α = " + fails_any + " (by up to " + num(worst) + ")") +
         "; isotropic θ*: <= for α in [0, " + (std::isinf(star) ? std::string("∞)") : num(star) + "]") + "\n";
  }
  return s;
}

}  // namespace

std::vector<double> parse_grid(const std::string& spec, const std::string& option) {
  std::vector<double> out;
  if (spec.find(':') != std::string::npos) {
    const auto a = spec.find(':'), b = spec.find(':', a + 1);
    if (b == std::string::npos || spec.find(':', b + 1) != std::string::npos)
      throw Error(option + ": '" + spec + "': expected start:stop:step, e.g. 0:1:0.1");
    const double start = parse_number(spec.substr(0, a), option, spec);
    const double stop = parse_number(spec.substr(a + 1, b - a - 1), option, spec);
    const double step = parse_number(spec.substr(b + 1), option, spec);
    if (!(step > 0) || stop < start)
      throw Error(option + ": '" + spec + "': expected start <= stop and a step > 0");
    // Counted, not accumulated, so 0:1:0.1 ends at exactly 1.
    const auto count = static_cast<int64_t>(std::floor((stop - start) / step + 1e-9));
    if (count > 100000) throw Error(option + ": '" + spec + "' gives more than 100000 values");
    // Rounded to 12 decimals so that 0:1:0.1 gives 0.3, not 0.30000000000000004.
    for (int64_t i = 0; i <= count; ++i) out.push_back(std::round((start + static_cast<double>(i) * step) * 1e12) / 1e12);
    return out;
  }
  size_t pos = 0;
  while (pos <= spec.size()) {
    const auto comma = spec.find(',', pos);
    const auto item = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    out.push_back(parse_number(item, option, spec));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

RidgeTable theory_ridge(const RidgeTableOptions& opts) {
  RidgeTableOptions o = opts;
  if (o.alphas.empty()) o.alphas = parse_grid("0:1:0.1", "--alphas");
  check(o);
  // The theorem compares each teacher with one trained on the student's own samples: f is always a row.
  std::vector<double> fts = o.f_t;
  fts.push_back(o.f);
  std::sort(fts.begin(), fts.end());
  fts.erase(std::unique(fts.begin(), fts.end()), fts.end());

  RidgeTable t;
  t.n_f = std::llround(o.f * static_cast<double>(o.n));
  const auto X = theory::gaussian_design(o.d, o.n, o.seed);
  const auto theta = theory::unit_theta(o.d, o.seed);
  for (double ft : fts) {
    const theory::RidgeSetting s{X, t.n_f, std::max<int64_t>(t.n_f, std::llround(ft * static_cast<double>(o.n))), o.lambda};
    const double star = theory::isotropic_gap(s).alpha_star();
    for (double a : o.alphas) {
      const auto m = theory::closed_form(s, a, theta, o.sigma);
      const auto c = theory::check_theorem(s, a);
      const auto B = theory::bias_operator(s, a);
      RidgeRow r{.f_t = ft, .alpha = a, .n_t = s.n_t, .bias2 = m.bias2, .variance = m.variance, .total = m.total(),
                 .bias2_isotropic = B.pow(2).sum().item<double>() / static_cast<double>(o.d),
                 .worst_gap = c.worst_gap, .isotropic_gap = c.isotropic_gap, .alpha_star = star,
                 .bias2_mc = std::numeric_limits<double>::quiet_NaN(), .variance_mc = std::numeric_limits<double>::quiet_NaN()};
      if (o.mc_draws > 0) {
        const auto mc = theory::monte_carlo(s, a, theta, o.sigma, o.mc_draws, o.seed + 1);
        r.bias2_mc = mc.bias2;
        r.variance_mc = mc.variance;
      }
      t.rows.push_back(r);
    }
  }
  t.csv = csv_of(o, t);
  t.text = text_of(o, t, fts);
  if (!o.out.empty()) {
    io::write_file_atomic(o.out, t.csv);
    spdlog::info("theory ridge: {} rows -> {}", t.rows.size(), o.out);
  }
  return t;
}

}  // namespace kdprune::commands
