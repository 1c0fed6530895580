#include "kdprune/train/cuda_graph.h"

#include <ATen/autocast_mode.h>
#include <spdlog/spdlog.h>
#include <torch/cuda.h>

#include <optional>
#include <vector>

#include "kdprune/util/error.h"

#if KDPRUNE_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace kdprune::train {

#if KDPRUNE_WITH_CUDA

namespace {
// A stream made for one user, not drawn from PyTorch's pools: those hand out 32 streams of each
// priority in turn, so a grid's cohorts and students (30 streams for Fig. 6's 25 students) would
// share some. A shared stream serialises their work and, worse, lets one cohort's allocation reuse
// a block another cohort's stream still reads (the caching allocator orders a block's reuse only
// on the stream it was made on). It is waited for and destroyed with its owner.
class Dedicated {
 public:
  Dedicated(c10::DeviceIndex device, bool high_priority) : device_(device) {
    const c10::cuda::CUDAGuard guard(device);
    int least = 0, greatest = 0;
    C10_CUDA_CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
    C10_CUDA_CHECK(cudaStreamCreateWithPriority(&raw_, cudaStreamNonBlocking, high_priority ? greatest : least));
  }
  ~Dedicated() {
    if (!raw_) return;
    const c10::cuda::CUDAGuard guard(device_);
    // Never throw from a destructor: an error may be in flight.
    if (cudaStreamSynchronize(raw_) != cudaSuccess || cudaStreamDestroy(raw_) != cudaSuccess) {
      spdlog::error("CUDA: waiting for or destroying a stream failed: {}", cudaGetErrorString(cudaGetLastError()));
    }
  }
  Dedicated(const Dedicated&) = delete;
  Dedicated& operator=(const Dedicated&) = delete;
  c10::cuda::CUDAStream stream() const { return c10::cuda::getStreamFromExternal(raw_, device_); }

 private:
  c10::DeviceIndex device_;
  cudaStream_t raw_ = nullptr;
};
}  // namespace

struct SideStream::Impl {
  std::optional<c10::cuda::CUDAStreamGuard> guard;
};

SideStream::SideStream(const torch::Device& device) : impl_(std::make_unique<Impl>()) {
  if (!device.is_cuda()) return;
  torch::cuda::synchronize(device.index());
  impl_->guard.emplace(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index()));
}

SideStream::~SideStream() {
  if (!impl_->guard) return;
  const auto index = impl_->guard->current_device().index();
  try {
    torch::cuda::synchronize(index);
  } catch (const std::exception& e) {  // never throw from a destructor (an error is already in flight)
    spdlog::error("CUDA: synchronising the side stream failed: {}", e.what());
  }
  impl_->guard.reset();
}

struct StreamEvent::Impl {
  std::optional<c10::DeviceIndex> device;  // none: a CPU device
  at::cuda::CUDAEvent event;
};

StreamEvent::StreamEvent(const torch::Device& device) : impl_(std::make_unique<Impl>()) {
  if (device.is_cuda()) impl_->device = device.has_index() ? device.index() : c10::cuda::current_device();
}
StreamEvent::~StreamEvent() = default;
void StreamEvent::record() {
  if (impl_->device) impl_->event.record(c10::cuda::getCurrentCUDAStream(*impl_->device));
}
void StreamEvent::wait() {
  if (impl_->device) impl_->event.block(c10::cuda::getCurrentCUDAStream(*impl_->device));
}

struct ForkJoin::Impl {
  size_t n = 0;
  std::optional<c10::DeviceIndex> device;  // none: run in order on the current stream
  std::vector<std::unique_ptr<Dedicated>> owned;
  std::vector<c10::cuda::CUDAStream> streams;
  at::cuda::CUDAEvent fork;
  std::vector<at::cuda::CUDAEvent> joins;
};

ForkJoin::ForkJoin(const torch::Device& device, size_t n, size_t urgent) : impl_(std::make_unique<Impl>()) {
  impl_->n = n;
  if (!device.is_cuda() || n < 2) return;
  impl_->device = device.has_index() ? device.index() : c10::cuda::current_device();
  for (size_t i = 0; i < n; ++i) {
    impl_->owned.push_back(std::make_unique<Dedicated>(*impl_->device, /*high_priority=*/i < urgent));
    impl_->streams.push_back(impl_->owned.back()->stream());
  }
  impl_->joins.resize(n);
}
ForkJoin::~ForkJoin() = default;

void ForkJoin::run(const std::function<void(size_t)>& work) {
  auto& m = *impl_;
  if (!m.device) {
    for (size_t i = 0; i < m.n; ++i) work(i);
    return;
  }
  const auto origin = c10::cuda::getCurrentCUDAStream(*m.device);
  m.fork.record(origin);
  size_t i = 0;
  try {
    for (; i < m.n; ++i) {
      c10::cuda::CUDAStreamGuard guard(m.streams[i]);
      m.fork.block(m.streams[i]);
      work(i);
      m.joins[i].record(m.streams[i]);
    }
  } catch (...) {
    // The streams forked so far (the failing one too) join the origin again, so that a capture in
    // progress ends with this error rather than an unjoined-stream one.
    try {
      for (size_t k = 0; k <= i && k < m.n; ++k) {
        m.joins[k].record(m.streams[k]);
        m.joins[k].block(origin);
      }
    } catch (...) {
    }
    throw;
  }
  for (auto& j : m.joins) j.block(origin);
}

struct OwnStream::Impl {
  std::unique_ptr<Dedicated> owned;
  std::optional<c10::cuda::CUDAStream> stream;
};

OwnStream::OwnStream(const torch::Device& device) : impl_(std::make_unique<Impl>()) {
  if (!device.is_cuda()) return;
  const auto index = device.has_index() ? device.index() : c10::cuda::current_device();
  impl_->owned = std::make_unique<Dedicated>(index, /*high_priority=*/false);
  impl_->stream = impl_->owned->stream();
  // Its work follows what was issued before it (the dataset's upload, the models' weights).
  at::cuda::CUDAEvent before;
  before.record(c10::cuda::getCurrentCUDAStream(index));
  before.block(*impl_->stream);
}

OwnStream::~OwnStream() {
  if (!impl_->stream) return;
  try {
    // What follows on the origin stream (the results' files, other groups) sees this stream's work.
    impl_->stream->synchronize();
  } catch (const std::exception& e) {  // never throw from a destructor (an error is already in flight)
    spdlog::error("CUDA: synchronising a cohort's stream failed: {}", e.what());
  }
}

void OwnStream::synchronize() {
  if (impl_->stream) impl_->stream->synchronize();
}

struct OwnStream::Use::Impl {
  std::optional<c10::cuda::CUDAStreamGuard> guard;
};
OwnStream::Use::Use(OwnStream& s) : impl_(std::make_unique<Impl>()) {
  if (s.impl_->stream) impl_->guard.emplace(*s.impl_->stream);
}
OwnStream::Use::~Use() = default;

struct StepGraph::Impl {
  at::cuda::CUDAGraph graph;
  bool captured = false;
};

bool StepGraph::supported() { return true; }

void StepGraph::capture(const std::function<void()>& step) {
  const bool cache = at::autocast::is_autocast_cache_enabled();
  at::autocast::set_autocast_cache_enabled(false);
  bool begun = false;
  try {
    impl_->graph.capture_begin();
    begun = true;
    step();
    begun = false;
    impl_->graph.capture_end();
  } catch (const std::exception& e) {
    at::autocast::set_autocast_cache_enabled(cache);
    // Leave capture mode, or every later CUDA call on the stream fails with a capture error
    // instead of the real one.
    if (begun) try {
        impl_->graph.capture_end();
      } catch (const std::exception&) {
      }
    throw Error(std::string("capturing the training step as a CUDA graph failed: ") + e.what() +
                " (train.cuda_graph=off trains without a graph)");
  }
  at::autocast::set_autocast_cache_enabled(cache);
  impl_->captured = true;
}

void StepGraph::replay() { impl_->graph.replay(); }

#else

struct SideStream::Impl {};
SideStream::SideStream(const torch::Device& device) : impl_(std::make_unique<Impl>()) {
  if (device.is_cuda()) throw Error("this kdprune was built without CUDA support");
}
SideStream::~SideStream() = default;

struct StreamEvent::Impl {};
StreamEvent::StreamEvent(const torch::Device&) : impl_(std::make_unique<Impl>()) {}
StreamEvent::~StreamEvent() = default;
void StreamEvent::record() {}
void StreamEvent::wait() {}

struct ForkJoin::Impl {
  size_t n = 0;
};
ForkJoin::ForkJoin(const torch::Device&, size_t n, size_t) : impl_(std::make_unique<Impl>()) { impl_->n = n; }
ForkJoin::~ForkJoin() = default;
void ForkJoin::run(const std::function<void(size_t)>& work) {
  for (size_t i = 0; i < impl_->n; ++i) work(i);
}

struct OwnStream::Impl {};
OwnStream::OwnStream(const torch::Device& device) : impl_(std::make_unique<Impl>()) {
  if (device.is_cuda()) throw Error("this kdprune was built without CUDA support");
}
OwnStream::~OwnStream() = default;
void OwnStream::synchronize() {}
struct OwnStream::Use::Impl {};
OwnStream::Use::Use(OwnStream&) : impl_(std::make_unique<Impl>()) {}
OwnStream::Use::~Use() = default;

struct StepGraph::Impl {
  bool captured = false;
};
bool StepGraph::supported() { return false; }
void StepGraph::capture(const std::function<void()>&) { throw Error("CUDA graphs: this kdprune was built without CUDA"); }
void StepGraph::replay() { throw Error("CUDA graphs: this kdprune was built without CUDA"); }

#endif

StepGraph::StepGraph() : impl_(std::make_unique<Impl>()) {}
StepGraph::~StepGraph() = default;
bool StepGraph::captured() const { return impl_->captured; }

}  // namespace kdprune::train
