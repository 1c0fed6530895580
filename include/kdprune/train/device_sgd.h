#pragma once
// SGD (momentum, Nesterov, weight decay: torch::optim::SGD's update) with the learning rate read
// from a device tensor, so a captured CUDA graph replays it under any per-step schedule. It keeps
// its state in the torch::optim::SGD it wraps (momentum buffers created as zeros, which gives
// torch's first step exactly: 0·m + d = d), so checkpoints are the same either way.
#include <torch/torch.h>

namespace kdprune::train {

class DeviceSGD {
 public:
  explicit DeviceSGD(torch::optim::SGD& opt);
  // One update of the parameters that have a gradient. lr: a float32 scalar (0-d or [1]) on the
  // parameters' device. No host sync; multi-tensor (_foreach) kernels.
  void step(const torch::Tensor& lr);

 private:
  torch::optim::SGD& opt_;
};

}  // namespace kdprune::train
