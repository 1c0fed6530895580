#include "kdprune/train/device_sgd.h"

#include "kdprune/util/error.h"

namespace kdprune::train {

DeviceSGD::DeviceSGD(torch::optim::SGD& opt) : opt_(opt) {
  if (opt.param_groups().size() != 1) throw InternalError("DeviceSGD: expected one parameter group");
  const auto& o = static_cast<const torch::optim::SGDOptions&>(opt.param_groups()[0].options());
  if (o.dampening() != 0.0) throw InternalError("DeviceSGD: dampening is not supported");
}

void DeviceSGD::step(const torch::Tensor& lr) {
  auto& group = opt_.param_groups()[0];
  const auto& o = static_cast<const torch::optim::SGDOptions&>(group.options());
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> params, grads, bufs;
  for (auto& p : group.params()) {
    if (!p.grad().defined()) continue;
    params.push_back(p);
    grads.push_back(p.grad());
    if (o.momentum() != 0.0) {
      auto& state = opt_.state();
      const auto key = p.unsafeGetTensorImpl();
      auto it = state.find(key);
      if (it == state.end()) {
        auto s = std::make_unique<torch::optim::SGDParamState>();
        s->momentum_buffer(torch::zeros_like(p, at::MemoryFormat::Preserve));
        it = state.emplace(key, std::move(s)).first;
      }
      bufs.push_back(static_cast<torch::optim::SGDParamState&>(*it->second).momentum_buffer());
    }
  }
  if (params.empty()) return;
  // d = g + wd·p
  std::vector<torch::Tensor> d = o.weight_decay() != 0.0 ? at::_foreach_add(grads, params, o.weight_decay()) : grads;
  if (o.momentum() != 0.0) {
    at::_foreach_mul_(bufs, o.momentum());  // buf = m·buf + d
    at::_foreach_add_(bufs, d);
    d = o.nesterov() ? at::_foreach_add(d, bufs, o.momentum()) : bufs;
  }
  at::_foreach_sub_(params, at::_foreach_mul(d, lr.to(params.front().scalar_type()).reshape({})));
}

}  // namespace kdprune::train
