#pragma once
// A training step captured once as a CUDA graph and replayed (at::cuda::CUDAGraph), and the side
// stream capture needs. Without CUDA support in the build, supported() is false and the rest throws.
#include <torch/torch.h>

#include <functional>
#include <memory>

namespace kdprune::train {

// Makes a non-default stream of `device` current for its lifetime (capture cannot use the legacy
// default stream); synchronises the device on entry and exit. On a CPU device it does nothing.
class SideStream {
 public:
  explicit SideStream(const torch::Device& device);
  ~SideStream();
  SideStream(const SideStream&) = delete;
  SideStream& operator=(const SideStream&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class StepGraph {
 public:
  static bool supported();  // this build can capture CUDA graphs
  StepGraph();
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  // Records `step` on the current stream (inside a SideStream); nothing runs until replay().
  // Autocast's weight cache is off while recording (a cached cast would outlive the capture).
  void capture(const std::function<void()>& step);
  bool captured() const;
  void replay();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kdprune::train
