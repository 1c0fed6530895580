#include "kdprune/losses/kd_loss.h"

#include "feature/feature_common.h"
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
  // A pure function of the batch on the device: its step may be captured as a CUDA graph.
  bool capturable() const override { return true; }
  explicit VanillaKd(double tau) : tau_(tau) {}
  torch::Tensor operator()(const models::ModelOutput& s, const models::ModelOutput& t, const torch::Tensor&) override {
    return kd_kl(s.logits, t.logits, tau_);
  }

 private:
  double tau_;
};
std::unique_ptr<DistillTerm> make_vanilla(const TermContext& ctx) { return std::make_unique<VanillaKd>(ctx.kd.tau); }
}  // namespace

OutputShapes output_shapes(const models::ModelOutput& out) {
  OutputShapes s;
  for (const auto& f : out.features) s.features.push_back(f.sizes().vec());
  s.embedding = out.embedding.defined() ? out.embedding.reshape({out.embedding.size(0), -1}).size(1) : 0;
  return s;
}

const std::vector<KdLossEntry>& kd_loss_registry() {
  using namespace feature;
  static const std::vector<KdLossEntry> entries = {
      {"kd", "vanilla KD: tau^2 * KL(softmax(z_t/tau) || softmax(z_s/tau)), batch mean", &make_vanilla},
      {"fitnet", "FitNets: MSE of the teacher's feat[kd.hint_layer] (2) and the student's through a trained ConvReg (conv, BN, ReLU)", &make_fitnet},
      {"at", "AT: attention maps normalize(mean_c f^2) of every stage, mean squared difference, summed", &make_attention},
      {"sp", "SP: normalised batch similarity matrices of the last stage, ||G_t - G_s||^2 / B^2", &make_similarity},
      {"pkt", "PKT: cosine-similarity distributions of the embeddings, KL-style mean", &make_pkt},
      {"rkd", "RKD: 25 * distance + 50 * angle smooth-L1 on the embeddings", &make_rkd},
      {"vid", "VID: per-stage 1x1-conv regressors with learned variance, Gaussian NLL, summed", &make_vid},
      {"nst", "NST: MMD with the polynomial kernel (d = 2) of every stage's normalised channel maps", &make_nst},
      {"cc", "CC: correlation congruence of the embeddings through trained 128-d linear embeddings", &make_correlation},
      {"fsp", "FSP: flow matrices of consecutive feature maps, MSE, in an init stage of kd.init_epochs (0 after)", &make_fsp},
      {"ab", "AB: activation-boundary margin loss on pre-activation stage outputs through connectors, in an init stage (0 after)", &make_ab},
      {"ft", "FT: factor transfer, L1 of normalised factors of the last stage; paraphraser trained in an init stage, translator with the student", &make_factor_transfer},
      {"crd", "CRD: contrastive NCE of 128-d embeddings against per-sample memory banks, kd.nce_k negatives of other classes", &make_crd, true},
  };
  return entries;
}

bool kd_loss_keeps_state(const std::string& name) {
  for (const auto& e : kd_loss_registry())
    if (e.name == name) return e.per_sample_state;
  return false;
}

std::unique_ptr<DistillTerm> create_kd_loss(const std::string& name, const TermContext& ctx, const std::string& key) {
  for (const auto& e : kd_loss_registry())
    if (e.name == name) {
      TermContext named{ctx.kd, ctx.student, ctx.teacher, key + "=" + name, ctx.labels};
      return e.create(named);
    }
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
