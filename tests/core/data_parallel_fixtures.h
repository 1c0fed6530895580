#pragma once
// What the data-parallel tests share: a model without batch statistics, tiny synthetic data, a short
// recipe, and ranks run as threads over one in-process store.
#include <torch/torch.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "kdprune/config/config.h"
#include "kdprune/data/dataset_registry.h"
#include "kdprune/data/tensor_dataset.h"
#include "kdprune/dist/collective.h"
#include "kdprune/models/model.h"

namespace kdprune::test {

// Conv + linear, no batch statistics: ranks that see different halves of a batch compute, after
// averaging, the gradient of the whole batch.
struct PlainNet : models::ModelImpl {
  torch::nn::Conv2d conv{torch::nn::Conv2dOptions(1, 6, 3).padding(1)};
  torch::nn::Linear fc{6, 4};
  PlainNet() {
    register_module("conv", conv);
    register_module("fc", fc);
  }
  models::ModelOutput forward_all(const torch::Tensor& x) override {
    auto h = torch::relu(conv(x)).mean({2, 3});
    return {fc(h), h, {}};
  }
};
inline std::shared_ptr<PlainNet> plain_net(uint64_t seed) {
  torch::manual_seed(seed);
  return std::make_shared<PlainNet>();
}
inline data::TensorDataset tiny(int64_t train, const torch::Device& device = torch::kCPU) {
  DataSection d;
  d.name = "synthetic";
  d.synthetic = {train, 24, 1, 8, 8, 4, 0.5};
  return data::to_tensors(data::load_dataset(d, 1), device);
}
inline TrainSection recipe(int64_t batch) {
  TrainSection t;
  t.epochs = 3, t.batch_size = batch, t.lr = 0.1, t.warmup_epochs = 1, t.schedule = "cosine", t.checkpoint_every = 1;
  t.cuda_graph = "off";
  t.amp = "off", t.channels_last = "false";  // fp32: the paths are compared to float rounding
  return t;
}
// Runs `body(rank, collective)` on `world` threads over one store; returns each rank's error ("" = none).
inline std::vector<std::string> run_ranks(int64_t world, const std::function<void(int64_t, dist::Collective&)>& body,
                                          std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto store = dist::Collective::local_store();
  std::vector<std::string> errors(world);
  std::vector<std::thread> threads;
  for (int64_t r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        auto c = dist::Collective::over_store(store, r, world, timeout);
        body(r, *c);
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  return errors;
}
inline bool close_weights(const models::ModelImpl& a, const models::ModelImpl& b, double tol) {
  auto pa = a.parameters(), pb = b.parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    if (!torch::allclose(pa[i], pb[i], tol, tol)) return false;
  return true;
}

}  // namespace kdprune::test
