// CRD (Tian et al. 2020, contrastive representation distillation), as RepDistiller's
// crd/criterion.py and crd/memory.py with dataset/cifar100.py's "exact" sampling:
// - the embeddings before the classifier (feat[-1]) through trained linear maps to 128-d,
//   L2-normalised (Embed);
// - two memory banks of 128-d vectors, one per training sample (here: per position in the pruned
//   training view, so the bank and the noise distribution 1/n cover the data trained on),
//   initialised uniform in ±1/sqrt(128/3);
// - for each sample: its own position and kd.nce_k (16384) negatives drawn from the view's samples
//   of other classes (without replacement, with replacement when there are fewer);
// - scores exp(v·m/T), T = 0.07, of the student's vector against the teacher bank and the
//   teacher's against the student bank, divided by constants Z fixed at the first batch (mean
//   score × n);
// - the NCE loss of each side, −(Σ log(P₊/(P₊ + K/n + ε)) + Σ log((K/n)/(P₋ + K/n + ε)))/B,
//   ε = 1e-7, summed; then each bank's rows of the batch move to normalize(0.5·m + 0.5·v).
// The banks and Z are buffers of the term's modules, so they are in the checkpoint.
#include <cmath>

#include "feature_common.h"
#include "kdprune/train/memory.h"
#include "kdprune/util/error.h"

namespace kdprune::losses::feature {

torch::Tensor crd_contrast_indices(const ClassIndex& classes, const torch::Tensor& positions, int64_t k,
                                   uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto pos = positions.to(torch::kCPU, torch::kInt64);
  const int64_t b = pos.size(0), n = classes.sorted.size(0);
  auto draws = torch::empty({b, k}, torch::kInt64);
  auto start = torch::empty({b, 1}, torch::kInt64), count = torch::empty({b, 1}, torch::kInt64);
  const auto* p = pos.data_ptr<int64_t>();
  const auto* label = classes.labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < b; ++i) {
    const int64_t c = label[p[i]], s = classes.start[c], nc = classes.count[c], negatives = n - nc;
    if (negatives == 0) throw Error("CRD: every sample of the training view is of class " + std::to_string(c) + ": no negatives");
    // np.random.choice(cls_negative, k, replace=k > len(cls_negative))
    draws[i].copy_(k > negatives ? torch::randint(negatives, {k}, gen, torch::kInt64)
                             : torch::randperm(negatives, gen, torch::kInt64).slice(0, 0, k));
    start[i][0] = s, count[i][0] = nc;
  }
  // The r-th negative of class c is the r-th of the class-sorted view with c's block left out.
  const auto shifted = draws + draws.ge(start).to(torch::kInt64) * count;
  const auto negatives = classes.sorted.index_select(0, shifted.flatten()).view({b, k});
  return torch::cat({pos.unsqueeze(1), negatives}, 1);
}

ClassIndex class_index(const torch::Tensor& labels) {
  ClassIndex ci;
  ci.labels = labels.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t classes = ci.labels.numel() ? ci.labels.max().item<int64_t>() + 1 : 0;
  ci.sorted = std::get<1>(ci.labels.sort(/*stable=*/true, 0, false)).contiguous();
  const auto counts = torch::bincount(ci.labels, {}, classes);
  ci.count.assign(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + classes);
  ci.start.resize(classes);
  for (int64_t c = 0, s = 0; c < classes; s += ci.count[c], ++c) ci.start[c] = s;
  return ci;
}

namespace {

constexpr int64_t kFeatDim = 128;
constexpr double kTemperature = 0.07, kMomentum = 0.5, kEps = 1e-7;

torch::Tensor l2_normalise(const torch::Tensor& x) { return x / x.pow(2).sum(1, true).sqrt(); }

// ContrastLoss (criterion.py, Eq. 18): column 0 the positive, the rest noise with P_n = 1/n.
torch::Tensor contrast_loss(const torch::Tensor& x, int64_t n) {
  const int64_t b = x.size(0), m = x.size(1) - 1;
  const double mpn = static_cast<double>(m) / static_cast<double>(n);
  const auto pos = x.select(1, 0);
  const auto log_d1 = (pos / (pos + (mpn + kEps))).log();
  const auto neg = x.narrow(1, 1, m);
  const auto log_d0 = (mpn / (neg + (mpn + kEps))).log();
  return -(log_d1.sum() + log_d0.sum()) / static_cast<double>(b);
}

class Crd : public DistillTerm {
 public:
  Crd(const TermContext& ctx, ClassIndex classes)
      : classes_(std::move(classes)), n_(classes_.labels.size(0)), k_(ctx.kd.nce_k) {
    namespace nn = torch::nn;
    embed_s_ = modules_->register_module("embed_s", nn::Linear(ctx.student.embedding, kFeatDim));
    embed_t_ = modules_->register_module("embed_t", nn::Linear(ctx.teacher.embedding, kFeatDim));
    const double stdv = 1.0 / std::sqrt(static_cast<double>(kFeatDim) / 3.0);
    memory_s_ = modules_->register_buffer("memory_s", torch::rand({n_, kFeatDim}) * (2 * stdv) - stdv);
    memory_t_ = modules_->register_buffer("memory_t", torch::rand({n_, kFeatDim}) * (2 * stdv) - stdv);
    z_ = modules_->register_buffer("z", torch::full({2}, -1.0));
  }
  // The negatives are drawn on the host per step: not capturable.
  bool capturable() const override { return false; }
  void on_batch(const train::BatchInfo& b) override {
    positions_ = b.positions;
    seed_ = b.rng_seed;
  }
  torch::Tensor operator()(const models::ModelOutput& s, const models::ModelOutput& t, const torch::Tensor&) override {
    if (!positions_.defined()) throw Error("KD loss 'crd' needs the training loop's sample positions (on_batch)");
    const auto vs = l2_normalise(embed_s_(s.embedding.to(torch::kFloat32).flatten(1)));
    const auto vt = l2_normalise(embed_t_(t.embedding.to(torch::kFloat32).flatten(1)));
    const int64_t b = vs.size(0);
    if (!memory_checked_) check_memory(b, vs.device());
    const auto idx = crd_contrast_indices(classes_, positions_, k_, seed_).to(vs.device());
    auto score = [&](const torch::Tensor& memory, const torch::Tensor& v) {
      const auto w = memory.index_select(0, idx.flatten()).view({b, k_ + 1, kFeatDim});
      return torch::exp(torch::bmm(w, v.unsqueeze(2)).squeeze(2) / kTemperature);
    };
    auto out_s = score(memory_t_, vs), out_t = score(memory_s_, vt);  // memory.py out_v1, out_v2
    if (!z_known_) {  // Z is set once, from the first batch (or restored from the checkpoint), then a constant
      torch::NoGradGuard no_grad;
      if (z_[0].item<double>() < 0) z_[0].copy_(out_s.mean() * static_cast<double>(n_));
      if (z_[1].item<double>() < 0) z_[1].copy_(out_t.mean() * static_cast<double>(n_));
      z_known_ = true;
    }
    out_s = out_s / z_[0];
    out_t = out_t / z_[1];
    {
      torch::NoGradGuard no_grad;
      const auto rows = positions_.to(vs.device(), torch::kInt64);
      for (auto [memory, v] : {std::pair{memory_s_, vs}, std::pair{memory_t_, vt}}) {
        const auto moved = memory.index_select(0, rows) * kMomentum + v.detach() * (1 - kMomentum);
        memory.index_copy_(0, rows, l2_normalise(moved));
      }
    }
    positions_ = torch::Tensor();
    return contrast_loss(out_s, n_) + contrast_loss(out_t, n_);
  }
  std::shared_ptr<torch::nn::Module> trainable() override { return modules_; }

 private:
  // A step gathers batch x (K+1) bank rows for each of the two scores and keeps them, their
  // products and their gradients: checked once against the machine's memory before the first
  // gather, so a typo in kd.nce_k is a one-line error rather than a failed allocation.
  void check_memory(int64_t b, const torch::Device& device) {
    memory_checked_ = true;
    const double need = 2.0 * 3.0 * static_cast<double>(b) * static_cast<double>(k_ + 1) * kFeatDim * sizeof(float);
    const double have = static_cast<double>(train::group_memory_budget("auto", device)) / 0.9;  // free now
    if (have > 0 && need > have)
      throw Error("kd.nce_k=" + std::to_string(k_) + ": CRD's negatives for a batch of " + std::to_string(b) + " need about " +
                  train::memory_text(static_cast<int64_t>(need)) + ", more than the " +
                  train::memory_text(static_cast<int64_t>(have)) + " free here (RepDistiller's --nce_k is 16384)");
  }
  bool memory_checked_ = false;
  ClassIndex classes_;
  int64_t n_, k_;
  std::shared_ptr<torch::nn::Module> modules_ = std::make_shared<torch::nn::Module>();
  torch::nn::Linear embed_s_{nullptr}, embed_t_{nullptr};
  torch::Tensor memory_s_, memory_t_, z_;
  bool z_known_ = false;
  torch::Tensor positions_;
  uint64_t seed_ = 0;
};

}  // namespace

std::unique_ptr<DistillTerm> make_crd(const TermContext& ctx) {
  if (!ctx.labels.defined())
    throw Error("KD loss '" + ctx.name + "' needs the training view's labels (its negatives are samples of other classes)");
  if (ctx.student.embedding == 0 || ctx.teacher.embedding == 0)
    throw Error("KD loss '" + ctx.name + "' needs the embeddings before the classifier of student and teacher");
  return std::make_unique<Crd>(ctx, class_index(ctx.labels));
}

}  // namespace kdprune::losses::feature
