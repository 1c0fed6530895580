#pragma once
// A training step captured once as a CUDA graph and replayed (at::cuda::CUDAGraph), the side
// stream capture needs, and the fork/join of several streams that lets a group's students run side
// by side (inside a capture too). Without CUDA support in the build, supported() is false, graphs
// and side streams throw, and the stream helpers run everything in order on the host's stream.
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

// Orders work between streams: record() marks the current stream's work so far, wait() makes the
// current stream wait for it (inside a capture both become edges of the graph). Off CUDA: nothing.
class StreamEvent {
 public:
  explicit StreamEvent(const torch::Device& device);
  ~StreamEvent();
  StreamEvent(const StreamEvent&) = delete;
  StreamEvent& operator=(const StreamEvent&) = delete;
  void record();
  void wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// n pieces of independent work on n streams of their own: each stream first waits for the current
// stream's work so far, and the current stream then waits for all of them, so what follows sees
// every result. The streams are fixed at construction (a capture and its eager warm-up steps must
// use the same ones: cuBLAS keeps a workspace per stream). The first `urgent` pieces (work the
// others wait for, such as a teacher's forward) get high-priority streams, and are issued first.
// With n = 1 or off CUDA the work runs in order on the current stream.
class ForkJoin {
 public:
  ForkJoin(const torch::Device& device, size_t n, size_t urgent = 0);
  ~ForkJoin();
  ForkJoin(const ForkJoin&) = delete;
  ForkJoin& operator=(const ForkJoin&) = delete;
  void run(const std::function<void(size_t)>& work);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A stream of one cohort's own (a group's cohorts run side by side on the GPU, their graphs'
// replays too). It starts after the work issued so far on the stream current at construction;
// Use makes it current for a scope; the destructor waits for its work. Off CUDA: nothing.
class OwnStream {
 public:
  explicit OwnStream(const torch::Device& device);
  ~OwnStream();
  OwnStream(const OwnStream&) = delete;
  OwnStream& operator=(const OwnStream&) = delete;
  void synchronize();  // the host waits for this stream's work (not the device's)

  class Use {
   public:
    explicit Use(OwnStream& stream);
    ~Use();
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

   private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
  };

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
