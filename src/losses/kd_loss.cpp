#include "kdprune/losses/kd_loss.h"

#include "kdprune/util/error.h"

namespace kdprune::losses {

torch::Tensor kd_kl(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits, double tau) {
  const auto log_ps = torch::log_softmax(student_logits.to(torch::kFloat32) / tau, 1);
  const auto log_pt = torch::log_softmax(teacher_logits.to(torch::kFloat32) / tau, 1);
  const auto kl = (log_pt.exp() * (log_pt - log_ps)).sum(1).mean();
  return kl * (tau * tau);
}

namespace {
class VanillaKd : public DistillTerm {
 public:
  explicit VanillaKd(double tau) : tau_(tau) {}
  torch::Tensor operator()(const models::ModelOutput& s, const models::ModelOutput& t, const torch::Tensor&) override {
    return kd_kl(s.logits, t.logits, tau_);
  }

 private:
  double tau_;
};
std::unique_ptr<DistillTerm> make_vanilla(const KdSection& kd) { return std::make_unique<VanillaKd>(kd.tau); }
}  // namespace

const std::vector<KdLossEntry>& kd_loss_registry() {
  static const std::vector<KdLossEntry> entries = {
      {"kd", "vanilla KD: tau^2 * KL(softmax(z_t/tau) || softmax(z_s/tau)), batch mean", &make_vanilla},
  };
  return entries;
}

std::unique_ptr<DistillTerm> create_kd_loss(const std::string& name, const KdSection& kd, const std::string& key) {
  for (const auto& e : kd_loss_registry())
    if (e.name == name) return e.create(kd);
  std::string known;
  for (const auto& e : kd_loss_registry()) known += (known.empty() ? "" : ", ") + e.name;
  throw Error(key + ": unknown KD loss '" + name + "' (expected one of: " + known + ")");
}

LossWeights loss_weights(const KdSection& kd, double alpha) {
  if (kd.weighting == "repdistiller") return {kd.gamma, alpha, kd.extra.empty() ? 0.0 : kd.beta};
  return {1.0 - alpha, alpha, 0.0};
}

torch::Tensor combine(const LossWeights& w, const torch::Tensor& ce, const torch::Tensor& kd, const torch::Tensor& extra) {
  torch::Tensor loss = w.ce == 1.0 ? ce : ce * w.ce;
  if (w.kd != 0.0) loss = loss + kd * w.kd;
  if (w.extra != 0.0) loss = loss + extra * w.extra;
  return loss;
}

}  // namespace kdprune::losses
