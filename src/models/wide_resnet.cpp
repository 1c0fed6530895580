#include "wide_resnet.h"

#include "init.h"
#include "kdprune/models/batch_norm.h"

namespace kdprune::models {
namespace nn = torch::nn;

namespace {

// BN -> ReLU -> conv3×3(stride) -> BN -> ReLU -> conv3×3. When widths differ, the shortcut is a
// 1×1 conv on the *activated* input; otherwise the raw input is added.
struct WrnBlockImpl : nn::Module {
  WrnBlockImpl(int64_t in, int64_t out, int64_t stride) : equal_in_out(in == out) {
    bn1 = register_module("bn1", BatchNorm2d(in));
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)));
    bn2 = register_module("bn2", BatchNorm2d(out));
    conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(out, out, 3).padding(1).bias(false)));
    if (!equal_in_out)
      convShortcut =
          register_module("convShortcut", nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto a = torch::relu(bn1(x));
    auto y = conv2(torch::relu(bn2(conv1(a))));
    return y + (equal_in_out ? x : convShortcut(a));
  }
  bool equal_in_out;
  BatchNorm2d bn1{nullptr}, bn2{nullptr};
  nn::Conv2d conv1{nullptr}, conv2{nullptr}, convShortcut{nullptr};
};
TORCH_MODULE(WrnBlock);

// RepDistiller wraps each group as NetworkBlock(layer=Sequential): names block1.layer.0.conv1...
struct NetworkBlockImpl : nn::Module {
  NetworkBlockImpl(int64_t n, int64_t in, int64_t out, int64_t stride) {
    for (int64_t i = 0; i < n; ++i) layer->push_back(WrnBlock(i == 0 ? in : out, out, i == 0 ? stride : 1));
    register_module("layer", layer);
  }
  torch::Tensor forward(const torch::Tensor& x) { return layer->forward(x); }
  nn::Sequential layer;
};
TORCH_MODULE(NetworkBlock);

class WideResNet : public ModelImpl {
 public:
  WideResNet(int64_t depth, int64_t k, int64_t in_channels, int64_t classes) {
    const int64_t n = (depth - 4) / 6;
    const int64_t w[4] = {16, 16 * k, 32 * k, 64 * k};
    conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in_channels, 16, 3).padding(1).bias(false)));
    for (int s = 0; s < 3; ++s)
      blocks_.push_back(register_module("block" + std::to_string(s + 1), NetworkBlock(n, w[s], w[s + 1], s == 0 ? 1 : 2)));
    bn1_ = register_module("bn1", BatchNorm2d(w[3]));
    fc_ = register_module("fc", nn::Linear(w[3], classes));
    init_resnet_weights(*this);
    nn::init::zeros_(fc_->bias);  // RepDistiller zeroes the classifier bias
  }

  ModelOutput forward_all(const torch::Tensor& x) override {
    ModelOutput out;
    auto h = conv1_(x);
    out.features.push_back(h);
    for (size_t b = 0; b < blocks_.size(); ++b) {
      h = blocks_[b]->forward(h);
      out.features.push_back(h);
    }
    // RepDistiller's wrn.py preact: stage outputs through the BN that comes next (the following
    // stage's first bn1, the final bn1); each BN runs a second time, as there.
    if (preact_features)
      for (size_t b = 0; b < blocks_.size(); ++b)
        out.features[b + 1] = b + 1 < blocks_.size()
                                  ? blocks_[b + 1]->layer->ptr<WrnBlockImpl>(0)->bn1(out.features[b + 1])
                                  : bn1_(out.features[b + 1]);
    h = torch::relu(bn1_(h));
    out.embedding = torch::adaptive_avg_pool2d(h, {1, 1}).flatten(1);
    out.logits = fc_(out.embedding);
    return out;
  }

 private:
  nn::Conv2d conv1_{nullptr};
  std::vector<NetworkBlock> blocks_;
  BatchNorm2d bn1_{nullptr};
  nn::Linear fc_{nullptr};

 public:
  torch::nn::Module& classifier() override { return *fc_; }
};

}  // namespace

Model make_wide_resnet(int64_t depth, int64_t widen, int64_t in_channels, int64_t classes) {
  return std::make_shared<WideResNet>(depth, widen, in_channels, classes);
}

}  // namespace kdprune::models
