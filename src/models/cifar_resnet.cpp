#include "cifar_resnet.h"

#include "init.h"
#include "kdprune/models/batch_norm.h"

namespace kdprune::models {
namespace nn = torch::nn;

namespace {

nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

// conv3x3 -> BN -> ReLU -> conv3x3 -> BN, plus shortcut (1×1 conv + BN when shape changes), ReLU.
struct BasicBlockImpl : nn::Module {
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride)
      : conv1(register_module("conv1", conv3x3(in, out, stride))),
        bn1(register_module("bn1", BatchNorm2d(out))),
        conv2(register_module("conv2", conv3x3(out, out, 1))),
        bn2(register_module("bn2", BatchNorm2d(out))) {
    if (stride != 1 || in != out)
      downsample = register_module(
          "downsample", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)),
                                       BatchNorm2d(out)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return torch::relu(forward_preact(x)); }
  // The block's output before its final ReLU (RepDistiller's preact).
  torch::Tensor forward_preact(const torch::Tensor& x) {
    auto y = torch::relu(bn1(conv1(x)));
    y = bn2(conv2(y));
    return y + (downsample ? downsample->forward(x) : x);
  }
  nn::Conv2d conv1;
  BatchNorm2d bn1;
  nn::Conv2d conv2;
  BatchNorm2d bn2;
  nn::Sequential downsample{nullptr};
};
TORCH_MODULE(BasicBlock);

class CifarResNet : public ModelImpl {
 public:
  CifarResNet(int64_t depth, int64_t mult, int64_t in_channels, int64_t classes) {
    const int64_t n = (depth - 2) / 6;
    const int64_t w0 = mult == 1 ? 16 : 32;
    const std::vector<int64_t> w = mult == 1 ? std::vector<int64_t>{16, 32, 64} : std::vector<int64_t>{64, 128, 256};
    conv1_ = register_module("conv1", conv3x3(in_channels, w0, 1));
    bn1_ = register_module("bn1", BatchNorm2d(w0));
    int64_t in = w0;
    for (int s = 0; s < 3; ++s) {
      nn::Sequential stage;
      for (int64_t b = 0; b < n; ++b) {
        stage->push_back(BasicBlock(in, w[s], (b == 0 && s > 0) ? 2 : 1));
        in = w[s];
      }
      stages_.push_back(register_module("layer" + std::to_string(s + 1), stage));
    }
    fc_ = register_module("fc", nn::Linear(in, classes));
    init_resnet_weights(*this);
  }

  ModelOutput forward_all(const torch::Tensor& x) override {
    ModelOutput out;
    auto h = torch::relu(bn1_(conv1_(x)));
    out.features.push_back(h);
    for (auto& stage : stages_) {
      if (!preact_features) {
        h = stage->forward(h);
        out.features.push_back(h);
        continue;
      }
      for (size_t b = 0; b + 1 < stage->size(); ++b) h = stage->ptr<BasicBlockImpl>(b)->forward(h);
      const auto pre = stage->ptr<BasicBlockImpl>(stage->size() - 1)->forward_preact(h);
      out.features.push_back(pre);
      h = torch::relu(pre);
    }
    out.embedding = torch::adaptive_avg_pool2d(h, {1, 1}).flatten(1);
    out.logits = fc_(out.embedding);
    return out;
  }

 private:
  nn::Conv2d conv1_{nullptr};
  BatchNorm2d bn1_{nullptr};
  std::vector<nn::Sequential> stages_;
  nn::Linear fc_{nullptr};

 public:
  torch::nn::Module& classifier() override { return *fc_; }
};

}  // namespace

Model make_cifar_resnet(int64_t depth, int64_t mult, int64_t in_channels, int64_t classes) {
  return std::make_shared<CifarResNet>(depth, mult, in_channels, classes);
}

}  // namespace kdprune::models
