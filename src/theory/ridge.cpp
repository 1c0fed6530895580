#include "kdprune/theory/ridge.h"

#include <cmath>
#include <limits>
#include <string>

#include "kdprune/util/error.h"

namespace kdprune::theory {
namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);

torch::Tensor columns(const torch::Tensor& X, int64_t k) { return X.slice(1, 0, k); }
torch::Tensor eye(int64_t d) { return torch::eye(d, kF64); }
torch::Tensor gram(const torch::Tensor& Xs, double lambda) { return Xs.matmul(Xs.t()) + lambda * eye(Xs.size(0)); }
// P = (XXᵀ + λI)⁻¹XXᵀ: how much of θ* a noiseless ridge fit on these columns recovers.
torch::Tensor recovery(const torch::Tensor& Xs, double lambda) {
  return torch::linalg_solve(gram(Xs, lambda), Xs.matmul(Xs.t()));
}
double trace_of(const torch::Tensor& m) { return m.trace().item<double>(); }
double sq_norm(const torch::Tensor& m) { return m.pow(2).sum().item<double>(); }

}  // namespace

void check_setting(const RidgeSetting& s) {
  if (!s.X.defined() || s.X.dim() != 2 || s.X.scalar_type() != torch::kFloat64)
    throw Error("ridge: X must be a d×n float64 matrix");
  const int64_t d = s.X.size(0), n = s.X.size(1);
  if (d < 1 || n < 1) throw Error("ridge: X is " + std::to_string(d) + "×" + std::to_string(n) + "; expected d, n >= 1");
  if (!(s.lambda > 0) || !std::isfinite(s.lambda))
    throw Error("ridge: lambda = " + std::to_string(s.lambda) + "; the theorem needs a ridge penalty lambda > 0");
  if (s.n_f < 1 || s.n_t < s.n_f || s.n_t > n)
    throw Error("ridge: the student's " + std::to_string(s.n_f) + " and the teacher's " + std::to_string(s.n_t) + " of " +
                std::to_string(n) + " samples; expected 1 <= n_f <= n_t <= n (the student's subset inside the teacher's)");
}

torch::Tensor ridge_fit(const torch::Tensor& X, const torch::Tensor& y, double lambda) {
  return torch::linalg_solve(gram(X, lambda), X.matmul(y));
}

torch::Tensor student_estimate(const RidgeSetting& s, double alpha, const torch::Tensor& y) {
  check_setting(s);
  const auto Xf = columns(s.X, s.n_f), Xt = columns(s.X, s.n_t);
  const auto teacher = ridge_fit(Xt, y.slice(0, 0, s.n_t), s.lambda);
  const auto targets = (1 - alpha) * y.slice(0, 0, s.n_f) + alpha * Xf.t().matmul(teacher);
  return ridge_fit(Xf, targets, s.lambda);
}

torch::Tensor bias_operator(const RidgeSetting& s, double alpha) {
  check_setting(s);
  const int64_t d = s.X.size(0);
  const auto Pf = recovery(columns(s.X, s.n_f), s.lambda), Pt = recovery(columns(s.X, s.n_t), s.lambda);
  return Pf.matmul((1 - alpha) * eye(d) + alpha * Pt) - eye(d);
}

torch::Tensor noise_operator(const RidgeSetting& s, double alpha) {
  check_setting(s);
  const auto Xf = columns(s.X, s.n_f), Xt = columns(s.X, s.n_t);
  // The student's labels are the first n_f of the teacher's: their noise is shared.
  const auto select = torch::eye(s.n_f, s.n_t, kF64);
  const auto teacher_map = torch::linalg_solve(gram(Xt, s.lambda), Xt);  // θ̂_t = teacher_map · y_t
  const auto targets = (1 - alpha) * select + alpha * Xf.t().matmul(teacher_map);
  return torch::linalg_solve(gram(Xf, s.lambda), Xf.matmul(targets));
}

Moments closed_form(const RidgeSetting& s, double alpha, const torch::Tensor& theta, double sigma) {
  const auto bias = bias_operator(s, alpha).matmul(theta);
  const auto M = noise_operator(s, alpha);
  Moments m;
  m.mean = theta + bias;
  m.cov = sigma * sigma * M.matmul(M.t());
  m.bias2 = sq_norm(bias);
  m.variance = trace_of(m.cov);
  return m;
}

Moments monte_carlo(const RidgeSetting& s, double alpha, const torch::Tensor& theta, double sigma, int64_t draws,
                    uint64_t seed) {
  check_setting(s);
  if (draws < 2) throw Error("ridge: Monte Carlo needs at least 2 draws, got " + std::to_string(draws));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto clean = columns(s.X, s.n_t).t().matmul(theta).unsqueeze(1);
  const auto Y = clean + sigma * torch::randn({s.n_t, draws}, gen, kF64);  // one label vector per column
  const auto est = student_estimate(s, alpha, Y);                        // d×draws
  Moments m;
  m.mean = est.mean(1);
  const auto centred = est - m.mean.unsqueeze(1);
  m.cov = centred.matmul(centred.t()) / static_cast<double>(draws - 1);
  m.bias2 = sq_norm(m.mean - theta);
  m.variance = trace_of(m.cov);
  return m;
}

TheoremCheck check_theorem(const RidgeSetting& s, double alpha) {
  RidgeSetting own = s;
  own.n_t = s.n_f;  // the teacher trained on the student's own samples
  const auto Bt = bias_operator(s, alpha), Bf = bias_operator(own, alpha);
  const auto diff = Bt.t().matmul(Bt) - Bf.t().matmul(Bf);
  const auto [values, vectors] = torch::linalg_eigh(diff);  // ascending
  TheoremCheck c;
  const int64_t d = diff.size(0);
  c.worst_gap = values[d - 1].item<double>();
  c.worst_theta = vectors.select(1, d - 1).clone();
  c.isotropic_gap = (sq_norm(Bt) - sq_norm(Bf)) / static_cast<double>(d);
  return c;
}

double IsotropicGap::alpha_star() const {
  return g2 > 0 ? 2 * g1 / g2 : std::numeric_limits<double>::infinity();
}

IsotropicGap isotropic_gap(const RidgeSetting& s) {
  check_setting(s);
  const auto I = eye(s.X.size(0));
  const auto F = s.lambda * torch::linalg_inv(gram(columns(s.X, s.n_f), s.lambda));
  const auto T = s.lambda * torch::linalg_inv(gram(columns(s.X, s.n_t), s.lambda));
  const auto keep = I - F;  // P_f
  return {trace_of(keep.matmul(F).matmul(F - T)), trace_of(keep.matmul(keep).matmul(T.matmul(T) - F.matmul(F)))};
}

torch::Tensor gaussian_design(int64_t d, int64_t n, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randn({d, n}, gen, kF64);
}

torch::Tensor unit_theta(int64_t d, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed ^ 0x7e7a5eedULL);  // not the design's stream
  const auto v = torch::randn({d}, gen, kF64);
  return v / v.norm();
}

}  // namespace kdprune::theory
