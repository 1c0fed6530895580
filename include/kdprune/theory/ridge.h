#pragma once
// Ridge regression with self-distillation, the setting of the paper's Theorem 3.1 (its Eq. 4).
// Data y = Xᵀθ* + η (X is d×n, one column per sample, η ~ N(0, σ²I)); the teacher is the ridge
// fit on the first n_t columns, θ̂_t = (X_t X_tᵀ + λI)⁻¹ X_t y_t; the student fits the first
// n_f ≤ n_t columns (so f ⊆ f_t) to targets mixed from the labels and the teacher's predictions:
//   θ̂_s = (X_f X_fᵀ + λI)⁻¹ X_f ((1−α) y_f + α X_fᵀ θ̂_t).
// θ̂_s is linear in η, so its mean and covariance over η have closed forms (below); the estimator
// itself (student_estimate) is what the Monte-Carlo check draws. float64 on the CPU throughout.
// What holds and what does not: docs/theory.md.
#include <torch/torch.h>

#include <cstdint>

namespace kdprune::theory {

struct RidgeSetting {
  torch::Tensor X;    // d×n, float64
  int64_t n_f = 0;    // the student's samples: columns [0, n_f)
  int64_t n_t = 0;    // the teacher's: columns [0, n_t), n_f <= n_t <= n
  double lambda = 1;  // the ridge penalty, > 0
};
// kdprune::Error naming what lies outside the theorem's domain (λ <= 0, n_f < 1, n_t < n_f, ...).
void check_setting(const RidgeSetting& s);

// argmin_θ ‖Xᵀθ − y‖² + λ‖θ‖² for each column of y (n or n×k), from the normal equations.
torch::Tensor ridge_fit(const torch::Tensor& X, const torch::Tensor& y, double lambda);
// The estimator itself: the teacher fit on y's first n_t entries, then the student (d, or d×k
// for k label vectors as columns of y).
torch::Tensor student_estimate(const RidgeSetting& s, double alpha, const torch::Tensor& y);

// E[θ̂_s] − θ* = B θ*, B = P_f((1−α)I + αP_t) − I, P = (XXᵀ + λI)⁻¹XXᵀ on each subset.
torch::Tensor bias_operator(const RidgeSetting& s, double alpha);
// θ̂_s − E[θ̂_s] = M η over the teacher's samples' noise: M = A_f⁻¹X_f((1−α)[I 0] + αX_fᵀA_t⁻¹X_t)
// (d×n_t, A = XXᵀ + λI), so Cov = σ²MMᵀ.
torch::Tensor noise_operator(const RidgeSetting& s, double alpha);

struct Moments {
  torch::Tensor mean, cov;         // E[θ̂_s] (d) and its covariance over η (d×d)
  double bias2 = 0, variance = 0;  // ‖E[θ̂_s] − θ*‖², tr(cov)
  double total() const { return bias2 + variance; }  // E‖θ̂_s − θ*‖²
};
Moments closed_form(const RidgeSetting& s, double alpha, const torch::Tensor& theta, double sigma);
// The same estimated from `draws` noise draws (seeded), each fitted by student_estimate.
Moments monte_carlo(const RidgeSetting& s, double alpha, const torch::Tensor& theta, double sigma, int64_t draws,
                    uint64_t seed);

// Theorem 3.1 compares a teacher on n_t samples with one on the student's own n_f.
// worst_gap = λ_max(B_tᵀB_t − B_fᵀB_f): the largest ‖B_tθ‖² − ‖B_fθ‖² over ‖θ‖ = 1 (> 0: the
// theorem fails for worst_theta); the isotropic gap is the same averaged over θ* with
// E[θθᵀ] = I/d: (‖B_t‖_F² − ‖B_f‖_F²)/d.
struct TheoremCheck {
  double worst_gap = 0;
  torch::Tensor worst_theta;  // unit vector
  double isotropic_gap = 0;
};
TheoremCheck check_theorem(const RidgeSetting& s, double alpha);

// The isotropic gap is exactly (−2αg1 + α²g2)/d, with F = λA_f⁻¹, T = λA_t⁻¹:
// g1 = tr((I−F)F(F−T)) >= 0 and g2 = tr((I−F)²(T² − F²)). So it is <= 0 for α in
// [0, alpha_star], alpha_star = 2g1/g2 where g2 > 0, and for every α >= 0 where g2 <= 0.
struct IsotropicGap {
  double g1 = 0, g2 = 0;
  double alpha_star() const;  // +inf where g2 <= 0
  double at(double alpha, int64_t d) const { return (-2 * alpha * g1 + alpha * alpha * g2) / static_cast<double>(d); }
};
IsotropicGap isotropic_gap(const RidgeSetting& s);

// Gaussian N(0, 1) d×n design and a θ* on the unit sphere, from one seed (a generator of their own).
torch::Tensor gaussian_design(int64_t d, int64_t n, uint64_t seed);
torch::Tensor unit_theta(int64_t d, uint64_t seed);

}  // namespace kdprune::theory
