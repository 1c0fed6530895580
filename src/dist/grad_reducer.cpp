#include "kdprune/dist/grad_reducer.h"

#include <map>

#include "kdprune/util/error.h"

namespace kdprune::dist {

std::vector<std::vector<size_t>> assign_buckets(const std::vector<torch::Tensor>& params, const BucketSizes& sizes) {
  // Reverse order: backward reaches the last layers first (DDP's heuristic). One open bucket per
  // (dtype, device); a bucket closes in the order it filled, so the list stays in gradient order.
  std::vector<std::vector<size_t>> buckets;
  std::map<std::pair<int, std::string>, std::pair<std::vector<size_t>, int64_t>> open;  // kind -> (indices, bytes)
  for (size_t k = params.size(); k-- > 0;) {
    const auto& p = params[k];
    auto& [indices, bytes] = open[{static_cast<int>(p.scalar_type()), p.device().str()}];
    indices.push_back(k);
    bytes += p.numel() * static_cast<int64_t>(p.element_size());
    if (bytes >= (buckets.empty() ? sizes.first_bytes : sizes.bytes)) {
      buckets.push_back(std::move(indices));
      indices.clear();
      bytes = 0;
    }
  }
  for (auto& [kind, b] : open)
    if (!b.first.empty()) buckets.push_back(std::move(b.first));
  return buckets;
}

GradReducer::GradReducer(Collective& collective, std::vector<torch::Tensor> params, const BucketSizes& sizes, bool overlap)
    : collective_(collective), params_(std::move(params)), where_(params_.size()), arrived_(params_.size()), overlap_(overlap) {
  for (const auto& p : params_)
    if (!p.requires_grad()) throw Error("GradReducer: a parameter that requires no gradient");
  for (auto& indices : assign_buckets(params_, sizes)) {
    Bucket b;
    int64_t n = 0;
    for (size_t k : indices) n += params_[k].numel();
    b.flat = torch::zeros({n}, params_[indices.front()].options().requires_grad(false));
    int64_t at = 0;
    for (size_t k : indices) {
      where_[k] = {buckets_.size(), b.views.size()};
      b.views.push_back(b.flat.slice(0, at, at + params_[k].numel()).view(params_[k].sizes()));
      at += params_[k].numel();
    }
    b.params = std::move(indices);
    b.pending = b.params.size();
    buckets_.push_back(std::move(b));
  }
  for (size_t k = 0; k < params_.size(); ++k)
    hooks_.push_back(params_[k].register_hook([this, k](const torch::Tensor& grad) { on_grad(k, grad); }));
}

GradReducer::~GradReducer() {
  for (size_t k = 0; k < hooks_.size(); ++k) params_[k].remove_hook(hooks_[k]);
}

void GradReducer::prepare() {
  for (auto& b : buckets_) b.pending = b.params.size();
  std::fill(arrived_.begin(), arrived_.end(), false);
  next_ = 0;
  armed_ = true;
}

void GradReducer::on_grad(size_t param, const torch::Tensor& grad) {
  // Autograd runs a leaf's hooks once, on its summed gradient, before accumulating it into .grad.
  if (!armed_ || arrived_[param]) return;
  const auto [bucket, slot] = where_[param];
  auto& b = buckets_[bucket];
  torch::NoGradGuard no_grad;
  b.views[slot].copy_(grad);
  arrived_[param] = true;
  if (--b.pending == 0 && overlap_) start_ready();
}

void GradReducer::start_ready() {
  while (next_ < buckets_.size() && buckets_[next_].pending == 0) {
    start(buckets_[next_++]);
    ++started_early_;
  }
}

void GradReducer::start(Bucket& b) { b.work = collective_.start_allreduce(b.flat); }

void GradReducer::finish() {
  if (!armed_) throw Error("GradReducer::finish without prepare");
  armed_ = false;
  torch::NoGradGuard no_grad;
  // The rest, in order; a gradient this rank did not produce counts as zero.
  for (; next_ < buckets_.size(); ++next_) {
    auto& b = buckets_[next_];
    for (size_t slot = 0; slot < b.params.size(); ++slot)
      if (!arrived_[b.params[slot]]) b.views[slot].zero_();
    start(b);
  }
  const double world = static_cast<double>(collective_.world());
  for (auto& b : buckets_) {
    collective_.wait(b.work);
    b.work.reset();
    b.flat.div_(world);
    for (size_t slot = 0; slot < b.params.size(); ++slot) {
      auto& p = params_[b.params[slot]];
      if (p.grad().defined()) p.mutable_grad().copy_(b.views[slot]);
      else p.mutable_grad() = torch::empty_like(p).copy_(b.views[slot]);  // the parameter's layout, as autograd's
    }
  }
}

}  // namespace kdprune::dist
