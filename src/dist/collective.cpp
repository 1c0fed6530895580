#include "kdprune/dist/collective.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <exception>
#include <map>
#include <sstream>

#include "kdprune/util/error.h"
#include "nccl_backend.h"

#if KDPRUNE_WITH_GLOO
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

namespace kdprune::dist {
namespace {
// A library's message up to its first line break (its own trace follows there), at most `n` chars.
std::string first_line_of(const std::string& what, size_t n) { return what.substr(0, std::min(what.find('\n'), n)); }
}  // namespace


#if KDPRUNE_WITH_GLOO

namespace {
c10d::ReduceOp reduce_op(Reduce op) {
  switch (op) {
    case Reduce::min: return c10d::ReduceOp::MIN;
    case Reduce::max: return c10d::ReduceOp::MAX;
    default: return c10d::ReduceOp::SUM;
  }
}

// The tensors grouped by (dtype, device): one flat buffer per group travels.
std::map<std::pair<int, std::string>, std::vector<torch::Tensor>> by_kind(const std::vector<torch::Tensor>& tensors) {
  std::map<std::pair<int, std::string>, std::vector<torch::Tensor>> groups;
  for (const auto& t : tensors)
    if (t.defined() && t.numel() > 0) groups[{static_cast<int>(t.scalar_type()), t.device().str()}].push_back(t);
  return groups;
}

torch::Tensor flatten(const std::vector<torch::Tensor>& ts) {
  std::vector<torch::Tensor> flat;
  for (const auto& t : ts) flat.push_back(t.detach().reshape({-1}));
  return torch::cat(flat);
}

void unflatten(const torch::Tensor& flat, const std::vector<torch::Tensor>& ts) {
  torch::NoGradGuard no_grad;
  int64_t at = 0;
  for (const auto& t : ts) {
    t.copy_(flat.slice(0, at, at + t.numel()).view(t.sizes()));
    at += t.numel();
  }
}
}  // namespace

bool Collective::available() { return true; }
bool Collective::nccl_available() { return nccl_built(); }

c10::intrusive_ptr<c10d::Store> Collective::local_store() { return c10::make_intrusive<c10d::HashStore>(); }

std::unique_ptr<Collective> Collective::over_store(const c10::intrusive_ptr<c10d::Store>& store, int64_t rank,
                                                   int64_t world, const GroupOptions& group) {
  const auto timeout = group.timeout;
  const auto& ifnames = group.ifnames;
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  if (ifnames.empty()) {
    // Loopback when this machine's hostname does not resolve; otherwise its address.
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  } else {
    // GLOO_SOCKET_IFNAME, as torch.distributed reads it: one device per listed interface.
    std::stringstream list(ifnames);
    for (std::string name; std::getline(list, name, ',');) {
      try {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
      } catch (const std::exception& e) {
        throw Error("GLOO_SOCKET_IFNAME='" + ifnames + "': cannot use network interface '" + name +
                    "' (expected names from `ip link`, comma-separated): " + first_line_of(e.what(), 160));
      }
    }
  }
  c10::intrusive_ptr<c10d::Backend> backend;
  try {
    backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(rank), static_cast<int>(world), options);
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(rank) + " of " + std::to_string(world) +
                ": cannot set up the Gloo process group: " + first_line_of(e.what(), 200));
  }
  std::unique_ptr<Collective> c(new Collective(store, backend, rank, world, timeout));
  c->reduce_alone_ = group.reduce_alone;
  if (group.nccl_device) c->use_nccl(*group.nccl_device);
  return c;
}

namespace {
// One collective per (dtype, device) group of `tensors`, on one flat buffer, written back in place.
template <class Op>
void on_flat_buffers(const std::vector<torch::Tensor>& tensors, Op&& op) {
  for (auto& [kind, ts] : by_kind(tensors)) {
    std::vector<torch::Tensor> buf{flatten(ts)};
    op(buf);
    unflatten(buf.front(), ts);
  }
}
}  // namespace

void Collective::allreduce(const std::vector<torch::Tensor>& tensors, Reduce op) {
  if (alone()) return;
  on_flat_buffers(tensors, [&](std::vector<torch::Tensor>& buf) {
    try {
      c10d::AllreduceOptions o;
      o.reduceOp = reduce_op(op);
      ++operations_;
      wait_for(backend_for(buf.front().device())->allreduce(buf, o));
    } catch (const std::exception& e) {
      fail("allreduce", e);
    }
  });
}

Collective::Work Collective::start_allreduce(const torch::Tensor& flat) {
  if (alone()) return {};
  try {
    std::vector<torch::Tensor> buf{flat};
    ++operations_;
    return backend_for(flat.device())->allreduce(buf);
  } catch (const std::exception& e) {
    fail("allreduce", e);
  }
}

void Collective::wait_for(const Work& work) const {
  // NCCL's: the current stream waits for it (the host goes on); its watchdog applies the timeout.
  if (is_nccl_work(*work))
    work->wait();
  else
    work->wait(timeout_);
}

void Collective::wait(const Work& work) {
  if (!work) return;
  try {
    wait_for(work);
  } catch (const std::exception& e) {
    fail("allreduce", e);
  }
}

void Collective::broadcast(const std::vector<torch::Tensor>& tensors, int64_t root) {
  if (alone()) return;
  on_flat_buffers(tensors, [&](std::vector<torch::Tensor>& buf) {
    try {
      c10d::BroadcastOptions o;
      o.rootRank = root;
      ++operations_;
      wait_for(backend_for(buf.front().device())->broadcast(buf, o));
    } catch (const std::exception& e) {
      fail("broadcast", e);
    }
  });
}

void Collective::barrier() {
  if (alone()) return;
  try {
    ++operations_;
    backend_->barrier()->wait(timeout_);
  } catch (const std::exception& e) {
    fail("barrier", e);
  }
}

#else

bool Collective::available() { return false; }
bool Collective::nccl_available() { return false; }
c10::intrusive_ptr<c10d::Store> Collective::local_store() {
  throw Error("data-parallel training: this kdprune was built without c10d's Gloo backend (libgloo-dev headers)");
}
std::unique_ptr<Collective> Collective::over_store(const c10::intrusive_ptr<c10d::Store>&, int64_t, int64_t,
                                                   const GroupOptions&) {
  return local_store(), nullptr;
}
void Collective::allreduce(const std::vector<torch::Tensor>&, Reduce) {}
Collective::Work Collective::start_allreduce(const torch::Tensor&) { return {}; }
void Collective::wait(const Work&) {}
void Collective::broadcast(const std::vector<torch::Tensor>&, int64_t) {}
void Collective::barrier() {}

#endif

Collective::Collective(c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<c10d::Backend> backend, int64_t rank,
                       int64_t world, std::chrono::milliseconds timeout)
    : store_(std::move(store)), backend_(std::move(backend)), rank_(rank), world_(world), timeout_(timeout) {}

void Collective::use_nccl(const torch::Device& device) {
  if (cuda_backend_) throw Error("rank " + std::to_string(rank_) + ": this process group has NCCL already");
  cuda_backend_ = make_nccl_backend(store_, rank_, world_, timeout_, device);
}

Collective::~Collective() {
  // Unwinding from an error (a peer may be gone): without waiting for collectives in flight.
  if (cuda_backend_) shutdown_nccl_backend(*cuda_backend_, std::uncaught_exceptions() > 0);
}

std::string Collective::backend_name(const torch::Device& device) const { return backend_for(device)->getBackendName(); }

std::string Collective::broadcast_string(const std::string& s, int64_t root) {
  auto size = torch::tensor({static_cast<int64_t>(s.size())}, torch::kInt64);
  broadcast({size}, root);
  auto bytes = torch::zeros({size.item<int64_t>()}, torch::kUInt8);
  if (rank_ == root && !s.empty()) std::memcpy(bytes.data_ptr(), s.data(), s.size());
  broadcast({bytes}, root);
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr()), static_cast<size_t>(bytes.numel()));
}

void Collective::fail(const std::string& op, const std::exception& e) const {
  // The backend's message, on one line: without Gloo's source location ("[/path/pair.cc:561] ")
  // and anything unprintable.
  std::string raw = e.what();
  raw = raw.substr(0, raw.find('\n'));
  if (raw.rfind("[/", 0) == 0 && raw.find("] ") != std::string::npos) raw = raw.substr(raw.find("] ") + 2);
  std::string msg;
  for (char c : raw)
    if (c >= 0x20 && c < 0x7f && msg.size() < 200) msg += c;
  throw Error("rank " + std::to_string(rank_) + " of " + std::to_string(world_) + ": " + op +
              " failed (another rank stopped, or did not answer within " + std::to_string(timeout_.count() / 1000) +
              " s): " + msg);
}

}  // namespace kdprune::dist
