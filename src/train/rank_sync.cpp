#include "rank_sync.h"

#include <spdlog/spdlog.h>

#include <limits>

#include "kdprune/dist/collective.h"
#include "kdprune/models/batch_norm.h"
#include "kdprune/train/precision.h"

namespace kdprune::train {

RankSync::RankSync(dist::Collective& collective, const TrainInputs& in, const std::vector<torch::Tensor>& params, const std::string& tag)
    : collective_(collective), model_(in.model), loss_modules_(in.loss_modules) {
  const auto& t = in.train;
  // Every rank starts from rank 0's weights (and resumed state).
  std::vector<torch::Tensor> state = model_.parameters();
  for (const auto& b : model_.buffers()) state.push_back(b);
  if (loss_modules_) {
    for (const auto& p : loss_modules_->parameters()) state.push_back(p);
    for (const auto& b : loss_modules_->buffers()) state.push_back(b);
  }
  collective_.broadcast(state);
  const auto bucket_bytes = static_cast<int64_t>(std::min(t.grad_bucket_mb, 1e6) * (1 << 20));  // at most ~1 TB
  const dist::BucketSizes buckets{.first_bytes = std::min<int64_t>(dist::BucketSizes{}.first_bytes, bucket_bytes), .bytes = bucket_bytes};
  reducer_ = std::make_unique<dist::GradReducer>(collective_, params, buckets, t.grad_overlap);
  if (t.sync_batchnorm) synced_bn_ = models::set_sync_batchnorm(model_, &collective_);
  spdlog::info("{}data-parallel: rank {} of {}, {} samples per rank per step; gradients in {} bucket(s) of <= {} MiB, {}; BatchNorm {}",
               tag, collective_.rank(), collective_.world(), t.batch_size, reducer_->buckets(), t.grad_bucket_mb,
               t.grad_overlap ? "reduced during backward" : "reduced after backward",
               t.sync_batchnorm ? "statistics over all ranks (" + std::to_string(synced_bn_) + " layers synchronised)"
                                : "statistics per rank, running statistics rank 0's");
}

RankSync::~RankSync() {
  if (synced_bn_ > 0) models::set_sync_batchnorm(model_, nullptr);
}

std::vector<torch::Tensor> RankSync::rank0_buffers() const {
  // Per-rank BatchNorm (the model's, or in the loss's modules) keeps rank 0's running statistics,
  // as DDP's broadcast_buffers; synchronised BatchNorm computes the same statistics on every rank.
  std::vector<torch::Tensor> b;
  if (synced_bn_ == 0) b = model_.buffers();
  if (loss_modules_)
    for (const auto& t : loss_modules_->buffers()) b.push_back(t);
  return b;
}

void RankSync::follow_rank0_buffers() { collective_.broadcast(rank0_buffers()); }

void RankSync::backward(const torch::Tensor& loss, const GradScaler& scaler, const StepBatch& b) {
  const double share = static_cast<double>(b.samples * collective_.world()) / static_cast<double>(b.step_samples);
  const auto scaled = scaler.scale(loss * share);
  reducer_->prepare(scaled);
  scaled.backward();
  reducer_->finish();  // .grad: the mean over ranks
}

void RankSync::reduce(EpochTotals& totals) {
  constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
  auto bad = torch::where(totals.first_bad.lt(0), torch::full_like(totals.first_bad, kNone), totals.first_bad);
  collective_.allreduce({totals.loss_sum, totals.correct});
  collective_.allreduce({bad}, dist::Reduce::min);
  totals.first_bad.copy_(torch::where(bad.eq(kNone), torch::full_like(bad, -1), bad));
}

double RankSync::sum(const torch::Tensor& value) {
  auto v = value.clone();
  collective_.allreduce({v});
  return v.item<double>();
}

bool RankSync::writes() const { return collective_.rank() == 0; }

}  // namespace kdprune::train
