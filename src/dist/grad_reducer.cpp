#include "kdprune/dist/grad_reducer.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/variable.h>

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "kdprune/util/error.h"

namespace kdprune::dist {

namespace {
// `parts` (float tensors on the parameters' one device) one after another, in one copy to the host.
torch::Tensor host_floats(const std::vector<torch::Tensor>& parts) {
  return parts.empty() ? torch::zeros({0}) : torch::cat(parts).to(torch::kCPU).contiguous();
}
}  // namespace

std::vector<std::vector<size_t>> assign_buckets(const std::vector<torch::Tensor>& params, const BucketSizes& sizes) {
  // Reverse order: backward reaches the last layers first (DDP's heuristic). One open bucket per
  // (dtype, device), its first closing at first_bytes, the next at bytes (as DDP's
  // compute_bucket_assignment_by_size); each kind's last, unfilled bucket comes after the others.
  struct Open {
    std::vector<size_t> indices;
    int64_t bytes = 0;
    bool closed_one = false;
  };
  std::vector<std::vector<size_t>> buckets;
  std::map<std::pair<int, std::string>, Open> open;
  for (size_t k = params.size(); k-- > 0;) {
    const auto& p = params[k];
    auto& b = open[{static_cast<int>(p.scalar_type()), p.device().str()}];
    b.indices.push_back(k);
    b.bytes += p.numel() * static_cast<int64_t>(p.element_size());
    if (b.bytes >= (b.closed_one ? sizes.bytes : sizes.first_bytes)) {
      buckets.push_back(std::move(b.indices));
      b.indices.clear(), b.bytes = 0, b.closed_one = true;
    }
  }
  for (auto& [kind, b] : open)
    if (!b.indices.empty()) buckets.push_back(std::move(b.indices));
  return buckets;
}

GradReducer::GradReducer(Collective& collective, std::vector<torch::Tensor> params, const BucketSizes& sizes, bool overlap)
    : collective_(collective), params_(std::move(params)), where_(params_.size()), arrived_(params_.size()),
      unreached_(params_.size()), overlap_(overlap) {
  std::unordered_set<const void*> distinct;
  for (const auto& p : params_) {
    if (!p.requires_grad() || !p.is_leaf()) throw Error("GradReducer: a parameter that is not a leaf requiring a gradient");
    if (!distinct.insert(p.unsafeGetTensorImpl()).second) throw Error("GradReducer: a parameter listed twice");
    // One device: autograd then runs every hook on one thread (a thread per device otherwise).
    if (p.device() != params_.front().device()) throw Error("GradReducer: parameters on more than one device");
    accumulators_.push_back(torch::autograd::impl::gradient_edge(p).function);
    param_of_[accumulators_.back().get()] = accumulators_.size() - 1;
  }
  for (auto& indices : assign_buckets(params_, sizes)) {
    Bucket b;
    int64_t n = 0;
    for (size_t k : indices) n += params_[k].numel();
    const auto count = static_cast<int64_t>(indices.size());
    b.flat = torch::zeros({n + count}, params_[indices.front()].options().requires_grad(false));
    int64_t at = 0;
    for (size_t k : indices) {
      where_[k] = {buckets_.size(), b.views.size()};
      b.views.push_back(b.flat.slice(0, at, at + params_[k].numel()).view(params_[k].sizes()));
      at += params_[k].numel();
    }
    b.used = b.flat.slice(0, n);
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

void GradReducer::prepare(const torch::Tensor& loss) {
  if (armed_) {  // the last step stopped between prepare() and finish() (an exception): let its reductions end first
    for (auto& b : buckets_) {
      try {
        collective_.wait(b.work);
      } catch (const std::exception&) {
      }
      b.work.reset();
    }
  }
  // The parameters this backward reaches: the AccumulateGrad nodes below the loss's grad_fn.
  std::vector<bool> reached(params_.size(), false);
  std::unordered_set<const torch::autograd::Node*> seen;
  std::vector<torch::autograd::Node*> todo;
  if (auto* root = loss.grad_fn().get()) todo.push_back(root);
  while (!todo.empty()) {
    auto* node = todo.back();
    todo.pop_back();
    if (!seen.insert(node).second) continue;
    if (const auto it = param_of_.find(node); it != param_of_.end()) reached[it->second] = true;
    for (const auto& e : node->next_edges())
      if (e.function) todo.push_back(e.function.get());
  }
  torch::NoGradGuard no_grad;
  for (auto& b : buckets_) {
    b.pending = b.params.size();
    b.used.fill_(1);  // on the device, no host sync; set to 0 below and, for a gradient that never came, in finish()
    for (size_t slot = 0; slot < b.params.size(); ++slot) {
      const size_t k = b.params[slot];
      arrived_[k] = unreached_[k] = !reached[k];  // not reached: zero now, so the bucket need not wait for it
      if (!reached[k]) b.views[slot].zero_(), b.used[static_cast<int64_t>(slot)].fill_(0), --b.pending;
    }
  }
  next_ = 0;
  armed_ = true;
  if (overlap_) start_ready();  // buckets of parameters this step does not use at all
}

void GradReducer::on_grad(size_t param, const torch::Tensor& grad) {
  // Autograd runs a leaf's hooks once, on its summed gradient, before accumulating it into .grad.
  if (!armed_ || !grad.defined()) return;  // an undefined gradient: zero, in finish()
  if (unreached_[param])  // its AccumulateGrad is not the one held (the parameter moved to another dtype or device)
    throw Error("data-parallel: a gradient arrived for parameter " + std::to_string(param) + " (" +
                std::to_string(params_[param].numel()) + " values), which the walk from the loss did not reach; "
                "the parameters changed after the gradient reducer was made");
  if (arrived_[param]) return;
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
    // A bucket with such a gradient never starts early. Reached but undefined (a Function that
    // returned none for it): unused, as in one process.
    for (size_t slot = 0; slot < b.params.size(); ++slot)
      if (!arrived_[b.params[slot]]) b.views[slot].zero_(), b.used[static_cast<int64_t>(slot)].fill_(0);
    start(b);
  }
  const double world = static_cast<double>(collective_.world());
  std::vector<torch::Tensor> flags;
  for (auto& b : buckets_) {
    collective_.wait(b.work);
    b.work.reset();
    flags.push_back(b.used.to(torch::kFloat32));
  }
  // After the sums: how many ranks used each parameter, read on the host once per step (not once
  // per bucket: over NCCL each read waits for the GPU).
  const auto used_by = host_floats(flags);
  const float* used = used_by.data_ptr<float>();
  for (auto& b : buckets_) {
    b.flat.div_(world);
    for (size_t slot = 0; slot < b.params.size(); ++slot, ++used) {
      if (*used == 0.0f) continue;  // no rank did: .grad stays as it is
      auto& p = params_[b.params[slot]];
      if (p.grad().defined()) p.mutable_grad().copy_(b.views[slot]);
      else p.mutable_grad() = torch::empty_like(p).copy_(b.views[slot]);  // the parameter's layout, as autograd's
    }
  }
}

}  // namespace kdprune::dist
