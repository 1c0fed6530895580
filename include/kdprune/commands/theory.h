#pragma once
// `kdprune theory ridge`: Theorem 3.1's ridge setting (theory/ridge.h) on a seeded Gaussian design,
// tabulated over α for several teacher fractions f_t. docs/theory.md says what the columns show.
#include <cstdint>
#include <string>
#include <vector>

namespace kdprune::commands {

struct RidgeTableOptions {
  int64_t d = 50, n = 200;            // dimension and samples of the design
  double f = 0.3;                     // the student's fraction: the first round(f·n) samples
  std::vector<double> f_t{0.3, 0.6, 1.0};  // teachers' fractions, each in [f, 1]; f itself is always added
  double lambda = 1, sigma = 1;       // ridge penalty (> 0) and label noise (>= 0)
  std::vector<double> alphas;         // >= 0; empty: 0, 0.1, ..., 1
  uint64_t seed = 0;                  // the design and θ*
  int64_t mc_draws = 0;               // > 0: Monte-Carlo columns from this many noise draws
  std::string out;                    // CSV path ("": none)
};

struct RidgeRow {
  double f_t = 0, alpha = 0;
  int64_t n_t = 0;
  double bias2 = 0, variance = 0, total = 0;  // closed form, the drawn θ* (‖θ*‖ = 1)
  double bias2_isotropic = 0;                 // E over θ* with E[θθᵀ] = I/d
  double worst_gap = 0, isotropic_gap = 0;    // against the teacher on the student's own samples
  double alpha_star = 0;                      // the isotropic gap is <= 0 for α in [0, alpha_star]
  double bias2_mc = 0, variance_mc = 0;       // NaN without Monte Carlo
};

struct RidgeTable {
  int64_t n_f = 0;
  std::vector<RidgeRow> rows;  // by f_t, then α
  std::string text;            // the table and a verdict per f_t, for the terminal
  std::string csv;             // what --out gets
};

// Checks every option (one-line kdprune::Error naming it), computes the table, writes the CSV
// atomically to opts.out when given.
RidgeTable theory_ridge(const RidgeTableOptions& opts);

// "0:1:0.1" (start:stop:step, stop included) or "0,0.25,1"; `option` names it in errors.
std::vector<double> parse_grid(const std::string& spec, const std::string& option);

}  // namespace kdprune::commands
