#include "imagenet_resnet.h"

#include "init.h"
#include "kdprune/models/batch_norm.h"

namespace kdprune::models {
namespace nn = torch::nn;

namespace {

nn::Sequential projection(int64_t in, int64_t out, int64_t stride) {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)), BatchNorm2d(out));
}

struct BlockBase : nn::Module {
  torch::Tensor forward(const torch::Tensor& x) { return torch::relu(forward_preact(x)); }
  // The block's output before its final ReLU (RepDistiller's preact).
  virtual torch::Tensor forward_preact(const torch::Tensor& x) = 0;
};

// torchvision BasicBlock: conv3×3(stride) BN ReLU conv3×3 BN (+ downsample) ReLU.
struct Basic : BlockBase {
  static constexpr int64_t expansion = 1;
  Basic(int64_t in, int64_t planes, int64_t stride) {
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in, planes, 3).stride(stride).padding(1).bias(false)));
    bn1 = register_module("bn1", BatchNorm2d(planes));
    conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(planes, planes, 3).padding(1).bias(false)));
    bn2 = register_module("bn2", BatchNorm2d(planes));
    if (stride != 1 || in != planes) downsample = register_module("downsample", projection(in, planes, stride));
  }
  torch::Tensor forward_preact(const torch::Tensor& x) override {
    auto y = bn2(conv2(torch::relu(bn1(conv1(x)))));
    return y + (downsample ? downsample->forward(x) : x);
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr};
  nn::Sequential downsample{nullptr};
};

// torchvision Bottleneck (v1.5: the stride sits on the 3×3 conv).
struct Bottleneck : BlockBase {
  static constexpr int64_t expansion = 4;
  Bottleneck(int64_t in, int64_t planes, int64_t stride) {
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in, planes, 1).bias(false)));
    bn1 = register_module("bn1", BatchNorm2d(planes));
    conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(planes, planes, 3).stride(stride).padding(1).bias(false)));
    bn2 = register_module("bn2", BatchNorm2d(planes));
    conv3 = register_module("conv3", nn::Conv2d(nn::Conv2dOptions(planes, planes * 4, 1).bias(false)));
    bn3 = register_module("bn3", BatchNorm2d(planes * 4));
    if (stride != 1 || in != planes * 4) downsample = register_module("downsample", projection(in, planes * 4, stride));
  }
  torch::Tensor forward_preact(const torch::Tensor& x) override {
    auto y = torch::relu(bn1(conv1(x)));
    y = torch::relu(bn2(conv2(y)));
    y = bn3(conv3(y));
    return y + (downsample ? downsample->forward(x) : x);
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  nn::Sequential downsample{nullptr};
};

// A stage as a ModuleList so blocks keep torchvision's names (layer1.0.conv1 ...).
class ImageNetResNet : public ModelImpl {
 public:
  template <class Block>
  void build(const std::vector<int64_t>& blocks, const ModelSpec& spec) {
    small_input_ = spec.image_size <= 64;
    if (small_input_)
      conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(spec.in_channels, 64, 3).padding(1).bias(false)));
    else
      conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(spec.in_channels, 64, 7).stride(2).padding(3).bias(false)));
    bn1_ = register_module("bn1", BatchNorm2d(64));
    int64_t in = 64;
    for (size_t s = 0; s < blocks.size(); ++s) {
      nn::ModuleList stage;
      const int64_t planes = 64 << s;
      for (int64_t b = 0; b < blocks[s]; ++b) {
        stage->push_back(std::make_shared<Block>(in, planes, (b == 0 && s > 0) ? 2 : 1));
        in = planes * Block::expansion;
      }
      stages_.push_back(register_module("layer" + std::to_string(s + 1), stage));
    }
    fc_ = register_module("fc", nn::Linear(in, spec.classes));
    init_resnet_weights(*this);
  }

  ModelOutput forward_all(const torch::Tensor& x) override {
    ModelOutput out;
    auto h = torch::relu(bn1_(conv1_(x)));
    if (!small_input_) h = torch::max_pool2d(h, 3, 2, 1);
    out.features.push_back(h);
    for (auto& stage : stages_) {
      for (size_t b = 0; b + 1 < stage->size(); ++b) h = stage->ptr<BlockBase>(b)->forward(h);
      const auto pre = stage->ptr<BlockBase>(stage->size() - 1)->forward_preact(h);
      h = torch::relu(pre);
      out.features.push_back(preact_features ? pre : h);
    }
    out.embedding = torch::adaptive_avg_pool2d(h, {1, 1}).flatten(1);
    out.logits = fc_(out.embedding);
    return out;
  }

 private:
  bool small_input_ = true;
  nn::Conv2d conv1_{nullptr};
  BatchNorm2d bn1_{nullptr};
  std::vector<nn::ModuleList> stages_;
  nn::Linear fc_{nullptr};

 public:
  torch::nn::Module& classifier() override { return *fc_; }
};

}  // namespace

Model make_imagenet_resnet(int64_t depth, const ModelSpec& spec) {
  auto m = std::make_shared<ImageNetResNet>();
  if (depth == 18) m->build<Basic>({2, 2, 2, 2}, spec);
  else if (depth == 34) m->build<Basic>({3, 4, 6, 3}, spec);
  else m->build<Bottleneck>({3, 4, 6, 3}, spec);
  return m;
}

}  // namespace kdprune::models
