// Theorem 3.1's ridge setting (theory/ridge.h), each closed form against an independent
// computation: the estimator solved as an augmented least-squares problem (QR, not the normal
// equations) on noiseless labels (its mean: θ̂_s is linear in η) and on unit noise vectors (its
// covariance), Monte Carlo over η and over θ*, per-axis scalar formulas on commuting designs, and
// exact fractions worked by hand on a 2×2 counterexample. What the tests establish: docs/theory.md.
#include <gtest/gtest.h>

#include <cmath>

#include "kdprune/theory/ridge.h"
#include "kdprune/util/error.h"

using namespace kdprune;
using theory::RidgeSetting;

namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);

// argmin ‖Xᵀθ − y‖² + λ‖θ‖² as least squares on [Xᵀ; √λ I] θ = [y; 0] (QR-based lstsq).
torch::Tensor lstsq_ridge(const torch::Tensor& X, const torch::Tensor& y, double lambda) {
  const int64_t d = X.size(0);
  const auto A = torch::cat({X.t(), std::sqrt(lambda) * torch::eye(d, kF64)});
  const auto b = torch::cat({y.reshape({-1, 1}), torch::zeros({d, 1}, kF64)});
  return std::get<0>(torch::linalg_lstsq(A, b, c10::nullopt, "gelsd")).squeeze(1);
}

torch::Tensor brute_student(const RidgeSetting& s, double alpha, const torch::Tensor& y) {
  const auto Xf = s.X.slice(1, 0, s.n_f), Xt = s.X.slice(1, 0, s.n_t);
  const auto teacher = lstsq_ridge(Xt, y.slice(0, 0, s.n_t), s.lambda);
  return lstsq_ridge(Xf, (1 - alpha) * y.slice(0, 0, s.n_f) + alpha * Xf.t().matmul(teacher), s.lambda);
}

// E[θ̂_s] − θ*: the estimator on noiseless labels.
torch::Tensor brute_bias(const RidgeSetting& s, double alpha, const torch::Tensor& theta) {
  return brute_student(s, alpha, s.X.slice(1, 0, s.n_t).t().matmul(theta)) - theta;
}

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }
double sq(const torch::Tensor& t) { return t.pow(2).sum().item<double>(); }

RidgeSetting setting(const torch::Tensor& X, int64_t n_f, int64_t n_t, double lambda) { return {X, n_f, n_t, lambda}; }

// A design whose every sub-Gram matrix is Q diag(·) Qᵀ: each sample lies along one column of Q.
// Returns the design and, per axis, the sums of squares of the first n_f and n_t samples.
struct Commuting {
  torch::Tensor X, Q;
  std::vector<double> sf, st;
};
Commuting commuting_design(int64_t d, int64_t n_f, int64_t n_t, bool rotate, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto Q = rotate ? std::get<0>(torch::linalg_qr(torch::randn({d, d}, gen, kF64))) : torch::eye(d, kF64);
  const auto scale = torch::rand({n_t}, gen, kF64) * 3 + 0.2;
  const auto axis = torch::randint(d, {n_t}, gen, torch::kInt64);
  Commuting c{torch::zeros({d, n_t}, kF64), Q, std::vector<double>(static_cast<size_t>(d)), std::vector<double>(static_cast<size_t>(d))};
  for (int64_t j = 0; j < n_t; ++j) {
    const int64_t k = axis[j].item<int64_t>();
    const double a = scale[j].item<double>() * (j % 2 ? -1 : 1);
    c.X.select(1, j).copy_(a * Q.select(1, k));
    c.st[static_cast<size_t>(k)] += a * a;
    if (j < n_f) c.sf[static_cast<size_t>(k)] += a * a;
  }
  return c;
}

}  // namespace

TEST(RidgeTheory, ClosedFormsEqualTheEstimatorSolvedAsLeastSquares) {
  const auto X = theory::gaussian_design(5, 12, 3);
  const auto theta = theory::unit_theta(5, 3);
  for (const auto& [n_f, n_t] : std::vector<std::pair<int64_t, int64_t>>{{4, 9}, {4, 4}, {7, 12}, {2, 3}})
    for (double alpha : {0.0, 0.3, 1.0, 1.7}) {
      SCOPED_TRACE("n_f " + std::to_string(n_f) + " n_t " + std::to_string(n_t) + " alpha " + std::to_string(alpha));
      const auto s = setting(X, n_f, n_t, 0.7);
      const double sigma = 0.4;
      const auto m = theory::closed_form(s, alpha, theta, sigma);
      EXPECT_LT(max_abs(m.mean - theta - brute_bias(s, alpha, theta)), 1e-12);
      // Cov = σ² Σ_j m_j m_jᵀ, m_j the estimator's response to unit noise on sample j.
      const auto base = brute_student(s, alpha, torch::zeros({n_t}, kF64));
      auto cov = torch::zeros({5, 5}, kF64);
      for (int64_t j = 0; j < n_t; ++j) {
        const auto mj = brute_student(s, alpha, torch::eye(n_t, kF64).select(0, j)) - base;
        cov += sigma * sigma * torch::outer(mj, mj);
      }
      EXPECT_LT(max_abs(m.cov - cov), 1e-12);
      EXPECT_NEAR(m.variance, cov.trace().item<double>(), 1e-12);
      EXPECT_NEAR(m.total(), m.bias2 + m.variance, 0);
      // The estimator the library runs agrees with the least-squares one on noisy labels too.
      const auto y = X.slice(1, 0, n_t).t().matmul(theta) + theory::gaussian_design(1, n_t, 9).squeeze(0);
      EXPECT_LT(max_abs(theory::student_estimate(s, alpha, y) - brute_student(s, alpha, y)), 1e-12);
    }
}

TEST(RidgeTheory, MonteCarloOverNoiseAgreesWithTheClosedForm) {
  const auto X = theory::gaussian_design(4, 20, 1);
  const auto theta = theory::unit_theta(4, 1);
  const auto s = setting(X, 6, 15, 0.5);
  const int64_t draws = 40000;
  for (double alpha : {0.0, 0.5, 1.0}) {
    SCOPED_TRACE(alpha);
    const auto exact = theory::closed_form(s, alpha, theta, 1.0);
    const auto mc = theory::monte_carlo(s, alpha, theta, 1.0, draws, 11);
    // Each coordinate of the mean within 4.5 standard errors; the covariance within 5 % of its scale.
    const auto se = (exact.cov.diagonal() / static_cast<double>(draws)).sqrt();
    EXPECT_LT(((mc.mean - exact.mean).abs() / se).max().item<double>(), 4.5);
    EXPECT_LT(max_abs(mc.cov - exact.cov) / max_abs(exact.cov), 0.05);
    EXPECT_NEAR(mc.variance, exact.variance, 0.03 * exact.variance);
  }
  // The check can fail: another α's closed form is many standard errors away.
  const auto other = theory::closed_form(s, 1.0, theta, 1.0);
  const auto mc = theory::monte_carlo(s, 0.5, theta, 1.0, draws, 11);
  const auto se = (other.cov.diagonal() / static_cast<double>(draws)).sqrt();
  EXPECT_GT(((mc.mean - other.mean).abs() / se).max().item<double>(), 10);
}

// (a) Where X_fX_fᵀ and X_tX_tᵀ commute, the paper's proof goes through: in the shared eigenbasis
// each component of the bias is (p_f((1−α) + αp_t) − 1)θ_i with p = s/(s + λ) and p_t >= p_f,
// so for every α >= 0 and every θ* the bigger teacher's bias is no larger.
TEST(RidgeTheory, CommutingDesignsSatisfyTheTheoremForEveryTheta) {
  for (bool rotate : {false, true})
    for (uint64_t seed : {0, 1, 2, 3})
      for (double lambda : {0.05, 1.0, 20.0}) {
        const int64_t d = 4, n_f = 3, n_t = 9;
        const auto c = commuting_design(d, n_f, n_t, rotate, seed);
        const auto s = setting(c.X, n_f, n_t, lambda);
        for (double alpha : {0.0, 0.25, 0.5, 1.0, 2.0}) {
          SCOPED_TRACE("rotate " + std::to_string(rotate) + " seed " + std::to_string(seed) + " lambda " +
                       std::to_string(lambda) + " alpha " + std::to_string(alpha));
          std::vector<double> b;
          for (int64_t i = 0; i < d; ++i) {
            const double pf = c.sf[static_cast<size_t>(i)] / (c.sf[static_cast<size_t>(i)] + lambda);
            const double pt = c.st[static_cast<size_t>(i)] / (c.st[static_cast<size_t>(i)] + lambda);
            b.push_back(pf * ((1 - alpha) + alpha * pt) - 1);
            EXPECT_LE(std::abs(b.back()), 1 - pf * ((1 - alpha) + alpha * pf) + 1e-15);  // |b_t| <= |b_f| per axis
          }
          const auto B = c.Q.matmul(torch::diag(torch::tensor(b, kF64))).matmul(c.Q.t());
          EXPECT_LT(max_abs(theory::bias_operator(s, alpha) - B), 1e-12);
          EXPECT_LE(theory::check_theorem(s, alpha).worst_gap, 1e-12);
          EXPECT_LE(theory::isotropic_gap(s).g2, 1e-12);
        }
      }
}

// (b) Nested but not commuting: X_f = (1, 0); the teacher adds x₂ = (2, 2); λ = 1, α = 1,
// θ* = (1, −2). By hand: P_f = diag(1/2, 0), A_t = [[6, 4], [4, 5]], P_t = [[9, 4], [4, 8]]/14.
// Own-data teacher: B = P_f² − I = diag(−3/4, −1), Bθ* = (−3/4, 2), ‖·‖² = 73/16.
// Bigger teacher: B = P_fP_t − I = [[−19/28, 1/7], [0, −1]], Bθ* = (−27/28, 2), ‖·‖² = 3865/784.
// Why: the bigger teacher predicts x₁ᵀP_tθ* = 1/14 at the student's sample (truth 1, own-data
// teacher 1/2); x₂ pulls its fit along (1, 1), against this θ*.
TEST(RidgeTheory, ANestedCounterexampleFoundBySearch) {
  const auto X = torch::tensor({1.0, 2.0, 0.0, 2.0}, kF64).reshape({2, 2});
  const auto theta = torch::tensor({1.0, -2.0}, kF64);
  const auto own = setting(X, 1, 1, 1.0), bigger = setting(X, 1, 2, 1.0);
  EXPECT_NEAR(theory::closed_form(own, 1.0, theta, 0).bias2, 73.0 / 16, 1e-13);
  EXPECT_NEAR(theory::closed_form(bigger, 1.0, theta, 0).bias2, 3865.0 / 784, 1e-13);
  EXPECT_NEAR(sq(brute_bias(own, 1.0, theta)), 73.0 / 16, 1e-12);
  EXPECT_NEAR(sq(brute_bias(bigger, 1.0, theta)), 3865.0 / 784, 1e-12);
  EXPECT_NEAR(X.select(1, 0).dot(theory::ridge_fit(X, X.t().matmul(theta), 1.0)).item<double>(), 1.0 / 14, 1e-14);
  // α = 1/2: (−5/8, 2) against (−41/56, 2): 281/64 < 14225/3136.
  EXPECT_NEAR(theory::closed_form(own, 0.5, theta, 0).bias2, 281.0 / 64, 1e-13);
  EXPECT_NEAR(theory::closed_form(bigger, 0.5, theta, 0).bias2, 14225.0 / 3136, 1e-13);
  const auto c = theory::check_theorem(bigger, 1.0);
  EXPECT_GT(c.worst_gap, 0.05);
  // The worst θ* is a real counterexample when run through the estimator.
  EXPECT_NEAR(sq(brute_bias(bigger, 1.0, c.worst_theta)) - sq(brute_bias(own, 1.0, c.worst_theta)), c.worst_gap, 1e-12);

  // Random nested designs with n_f >= d and a teacher of one more sample: a search finds a
  // counterexample in nearly every one, each confirmed by the estimator.
  int found = 0;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    const auto s = setting(theory::gaussian_design(3, 6, seed), 5, 6, 1.0);
    const auto w = theory::check_theorem(s, 0.5);
    if (w.worst_gap <= 1e-9) continue;
    ++found;
    RidgeSetting s_own = s;
    s_own.n_t = s.n_f;
    EXPECT_NEAR(sq(brute_bias(s, 0.5, w.worst_theta)) - sq(brute_bias(s_own, 0.5, w.worst_theta)), w.worst_gap, 1e-12);
  }
  EXPECT_GE(found, 8) << "of 10 random nested designs";
}

// Proved (docs/theory.md): where the student sees fewer dimensions than d, a unit θ* = u with
// X_fᵀu = 0 has B_f u = −u but B_t u = αP_fP_t u − u, orthogonal parts, so the bigger teacher's
// bias² is 1 + α²‖P_fP_tu‖² > 1 for every α > 0 unless P_fP_tu = 0: it leaks the component the
// student cannot see into the student's targets.
TEST(RidgeTheory, AStudentBlindToADirectionFailsForThatTheta) {
  for (uint64_t seed : {0, 1, 2}) {
    const auto X = theory::gaussian_design(4, 9, seed);
    const auto own = setting(X, 2, 2, 0.3), bigger = setting(X, 2, 9, 0.3);
    // u: the last left singular vector of X_f (orthogonal to both of the student's samples).
    const auto u = std::get<0>(torch::linalg_svd(X.slice(1, 0, 2), true, c10::nullopt)).select(1, 3);
    ASSERT_LT(max_abs(X.slice(1, 0, 2).t().matmul(u)), 1e-12);
    const auto Pf = torch::linalg_solve(X.slice(1, 0, 2).matmul(X.slice(1, 0, 2).t()) + 0.3 * torch::eye(4, kF64),
                                        X.slice(1, 0, 2).matmul(X.slice(1, 0, 2).t()));
    const auto Pt = torch::linalg_solve(X.matmul(X.t()) + 0.3 * torch::eye(4, kF64), X.matmul(X.t()));
    const double leak = sq(Pf.matmul(Pt).matmul(u));
    EXPECT_GT(leak, 1e-4);
    for (double alpha : {0.1, 0.5, 1.0}) {
      EXPECT_NEAR(sq(brute_bias(own, alpha, u)), 1.0, 1e-12);
      EXPECT_NEAR(sq(brute_bias(bigger, alpha, u)), 1 + alpha * alpha * leak, 1e-12);
      EXPECT_GE(theory::check_theorem(bigger, alpha).worst_gap, alpha * alpha * leak - 1e-12);
    }
  }
}

// (c) Averaged over an isotropic θ* (E[θθᵀ] = I/d) the gap is (−2αg1 + α²g2)/d: it holds for
// α <= 2g1/g2, and for every α >= 0 when g2 <= 0, which is proved for λ >= λ_max(X_fX_fᵀ) and for
// λ <= (1 + √3)·λ_min(X_fX_fᵀ) (docs/theory.md). Outside both it can fail within α <= 1.
TEST(RidgeTheory, OnAverageOverThetaItHoldsUpToAlphaStar) {
  // The formula against the Frobenius norms directly, and against Monte Carlo over θ*.
  const auto s = setting(theory::gaussian_design(3, 10, 4), 2, 7, 0.05);
  const auto g = theory::isotropic_gap(s);
  for (double alpha : {0.1, 0.5, 1.0, 3.0})
    EXPECT_NEAR(g.at(alpha, 3), theory::check_theorem(s, alpha).isotropic_gap, 1e-13) << alpha;
  {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
    const auto thetas = torch::randn({3, 400000}, gen, kF64) / std::sqrt(3.0);
    RidgeSetting own = s;
    own.n_t = s.n_f;
    const double alpha = 1.0;
    const auto gap = theory::bias_operator(s, alpha).matmul(thetas).pow(2).sum(0) -
                     theory::bias_operator(own, alpha).matmul(thetas).pow(2).sum(0);
    const double se = gap.std().item<double>() / std::sqrt(400000.0);
    EXPECT_NEAR(gap.mean().item<double>(), g.at(alpha, 3), 4.5 * se);
  }

  // The 2×2 design of the counterexample: at λ = 1 = λ_max(X_fX_fᵀ) the average holds for every α;
  // at λ = 0.1 only up to α* ≈ 0.277, checked by the Frobenius norms on both sides.
  const auto X = torch::tensor({1.0, 2.0, 0.0, 2.0}, kF64).reshape({2, 2});
  EXPECT_LE(theory::isotropic_gap(setting(X, 1, 2, 1.0)).g2, 0);
  for (double alpha : {0.5, 1.0, 4.0}) EXPECT_LT(theory::check_theorem(setting(X, 1, 2, 1.0), alpha).isotropic_gap, 0);
  const auto small = setting(X, 1, 2, 0.1);
  const double star = theory::isotropic_gap(small).alpha_star();
  EXPECT_GT(star, 0.2);
  EXPECT_LT(star, 0.35);
  EXPECT_LT(theory::check_theorem(small, star - 0.02).isotropic_gap, 0);
  EXPECT_GT(theory::check_theorem(small, star + 0.02).isotropic_gap, 0);
  EXPECT_GT(theory::check_theorem(small, 1.0).isotropic_gap, 0);

  // The two sufficient conditions on random designs of both shapes, at large α too.
  for (uint64_t seed = 0; seed < 12; ++seed)
    for (const auto& [d, n_f, n_t] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{3, 6, 10}, {5, 2, 9}, {4, 4, 6}}) {
      const auto Xr = theory::gaussian_design(d, n_t, seed);
      const auto Xf = Xr.slice(1, 0, n_f);
      const auto eig = torch::linalg_eigvalsh(Xf.matmul(Xf.t()));
      const double lo = eig[0].item<double>(), hi = eig[d - 1].item<double>();
      std::vector<double> lambdas = {hi, 4 * hi};
      if (n_f >= d) lambdas.insert(lambdas.end(), {(1 + std::sqrt(3.0)) * lo, 0.2 * lo});
      for (double lambda : lambdas) {
        const auto sr = setting(Xr, n_f, n_t, lambda);
        EXPECT_LE(theory::isotropic_gap(sr).g2, 1e-12 * hi) << "seed " << seed << " d " << d << " lambda " << lambda;
        for (double alpha : {0.5, 1.0, 5.0}) EXPECT_LE(theory::check_theorem(sr, alpha).isotropic_gap, 1e-12);
      }
    }
  // Between them, random designs with α* < 1 exist (here d > n_f and λ small; about 4 in 100).
  int below_one = 0;
  for (uint64_t seed = 0; seed < 200; ++seed)
    below_one += theory::isotropic_gap(setting(theory::gaussian_design(3, 5, seed), 2, 5, 0.01)).alpha_star() < 1;
  EXPECT_GE(below_one, 2) << "of 200 random designs";
}

TEST(RidgeTheory, OutsideTheDomainIsOneLine) {
  const auto X = theory::gaussian_design(2, 4, 0);
  for (const auto& s : {setting(X, 1, 2, 0.0), setting(X, 1, 2, -1.0), setting(X, 3, 2, 1.0), setting(X, 1, 5, 1.0),
                        setting(X, 0, 2, 1.0)}) {
    try {
      theory::bias_operator(s, 0.5);
      ADD_FAILURE() << "accepted lambda " << s.lambda << " n_f " << s.n_f << " n_t " << s.n_t;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
      EXPECT_EQ(std::string(e.what()).rfind("ridge: ", 0), 0u) << e.what();
    }
  }
}
