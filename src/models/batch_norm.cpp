#include "kdprune/models/batch_norm.h"

#include "kdprune/dist/collective.h"

namespace kdprune::models {
namespace {
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::vector<int64_t> reduce_dims(const torch::Tensor& x) {
  std::vector<int64_t> d{0};
  for (int64_t i = 2; i < x.dim(); ++i) d.push_back(i);
  return d;
}
std::vector<int64_t> channel_shape(const torch::Tensor& x) {
  std::vector<int64_t> s(static_cast<size_t>(x.dim()), 1);
  s[1] = x.size(1);
  return s;
}

// Statistics in float32 whatever x's dtype (bf16/fp16 autocast), merged across ranks in float64:
// each rank's count, mean and centred sum of squares (Chan et al.'s parallel variance), so no
// rank's large mean cancels another's variance. One allreduce of a [world, 1 + 2C] table whose
// row r rank r fills.
struct SyncBatchNormFn : torch::autograd::Function<SyncBatchNormFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, torch::Tensor running_mean, torch::Tensor running_var,
                               double eps, double factor, dist::Collective* sync) {
    const auto dims = reduce_dims(x);
    const auto shape = channel_shape(x);
    const int64_t c = x.size(1);
    const auto xf = x.to(torch::kFloat32);
    const int64_t n_local = c > 0 ? x.numel() / c : 0;
    const auto mean_local = n_local > 0 ? xf.mean(dims) : torch::zeros({c}, xf.options());
    const auto m2_local = n_local > 0 ? (xf - mean_local.view(shape)).square().sum(dims) : torch::zeros({c}, xf.options());
    auto table = torch::zeros({sync->world(), 1 + 2 * c}, xf.options().dtype(torch::kFloat64));
    table[sync->rank()][0] = static_cast<double>(n_local);
    table[sync->rank()].slice(0, 1, 1 + c).copy_(mean_local);
    table[sync->rank()].slice(0, 1 + c).copy_(m2_local);
    sync->allreduce({table});
    const auto counts = table.select(1, 0).unsqueeze(1);  // [world, 1]
    const auto means = table.slice(1, 1, 1 + c), m2s = table.slice(1, 1 + c);
    const double n = counts.sum().item<double>();
    TORCH_CHECK(n > 1, "SyncBatchNorm: expected more than one value per channel over all ranks, got ", n);
    const auto mean = (counts * means).sum(0) / n;
    const auto m2 = m2s.sum(0) + (counts * (means - mean).square()).sum(0);
    const auto var = m2 / n;
    const auto invstd = (var + eps).rsqrt().to(torch::kFloat32);
    {
      torch::NoGradGuard no_grad;
      running_mean.mul_(1 - factor).add_(mean.to(running_mean.scalar_type()), factor);
      running_var.mul_(1 - factor).add_((m2 / (n - 1)).to(running_var.scalar_type()), factor);
    }
    const auto mean32 = mean.to(torch::kFloat32);
    const auto xhat = (xf - mean32.view(shape)) * invstd.view(shape);
    // x in its own dtype (bf16 under autocast), not the float32 xhat: backward recomputes it.
    ctx->save_for_backward({x, mean32, invstd, weight});
    ctx->saved_data["n"] = n;
    ctx->saved_data["sync"] = reinterpret_cast<int64_t>(sync);
    ctx->saved_data["dtype"] = x.scalar_type();
    return (xhat * weight.to(torch::kFloat32).view(shape) + bias.to(torch::kFloat32).view(shape)).to(x.scalar_type());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const auto &invstd = saved[2], &weight = saved[3];
    const auto xhat = (saved[0].to(torch::kFloat32) - saved[1].view(channel_shape(saved[0]))) *
                      invstd.view(channel_shape(saved[0]));
    const double n = ctx->saved_data["n"].toDouble();
    auto* sync = reinterpret_cast<dist::Collective*>(ctx->saved_data["sync"].toInt());
    const auto dtype = ctx->saved_data["dtype"].toScalarType();
    const auto dims = reduce_dims(xhat);
    const auto shape = channel_shape(xhat);
    const auto g = grad_out[0].to(torch::kFloat32);
    const auto sum_dy = g.sum(dims), sum_dy_xhat = (g * xhat).sum(dims);
    // x's gradient needs the sums over every rank's samples; weight's and bias's stay this rank's.
    auto global = torch::cat({sum_dy, sum_dy_xhat});
    sync->allreduce({global});
    const int64_t c = xhat.size(1);
    const auto mean_dy = global.slice(0, 0, c) / n, mean_dy_xhat = global.slice(0, c) / n;
    const auto grad_x = (g - mean_dy.view(shape) - xhat * mean_dy_xhat.view(shape)) *
                        (invstd * weight.to(torch::kFloat32)).view(shape);
    return {grad_x.to(dtype), sum_dy_xhat.to(weight.scalar_type()), sum_dy.to(weight.scalar_type()),
            torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};
}  // namespace

torch::Tensor sync_batch_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                              torch::Tensor running_mean, torch::Tensor running_var, double eps, double factor,
                              dist::Collective& sync) {
  return SyncBatchNormFn::apply(x, weight, bias, std::move(running_mean), std::move(running_var), eps, factor, &sync);
}

torch::Tensor BatchNorm2dImpl::forward(const torch::Tensor& x) {
  if (!sync || sync->alone() || !is_training() || !options.track_running_stats() || !options.affine())
    return torch::nn::BatchNorm2dImpl::forward(x);
  _check_input_dim(x);
  {
    torch::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  // As torch's BatchNorm: the momentum, or a cumulative average when it is unset.
  const double factor = options.momentum() ? *options.momentum() : 1.0 / num_batches_tracked.item<double>();
  return sync_batch_norm(x, weight, bias, running_mean, running_var, options.eps(), factor, *sync);
}

int64_t set_sync_batchnorm(torch::nn::Module& root, dist::Collective* sync) {
  int64_t count = 0;
  for (const auto& m : root.modules(/*include_self=*/true))
    if (auto* bn = dynamic_cast<BatchNorm2dImpl*>(m.get())) bn->sync = sync, ++count;
  return count;
}

}  // namespace kdprune::models
