#pragma once
// Shared pieces of the feature-based distillation terms (RepDistiller's distiller_zoo), and the
// factories the KD-loss registry (kd_loss.cpp) lists.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kdprune/losses/kd_loss.h"

namespace kdprune::losses::feature {

// RepDistiller's rule where two maps differ in size: the larger is average-pooled to the smaller
// (AT.py at_loss, NST.py nst_loss, VID.py forward).
std::pair<torch::Tensor, torch::Tensor> match_spatial(torch::Tensor s, torch::Tensor t);

// RepDistiller's feat[1:-1]: the stage outputs after the stem.
std::vector<torch::Tensor> stage_outputs(const models::ModelOutput& o);

// The student and teacher must have the same number of stages for a per-stage loss; otherwise a
// one-line error naming the loss and both stage lists.
void require_same_stages(const TermContext& ctx);
std::string shape_text(const std::vector<int64_t>& shape);

// RepDistiller's ConvReg (models/util.py): maps a student feature map onto the teacher's shape with
// a stride-2 3×3 conv when the student map is twice the teacher's, a stride-2 4×4 transposed conv
// when half, else a valid conv of size 1 + s − t; then BatchNorm, and ReLU when `relu` (FitNets'
// regressor; AB's connectors leave it out). `what` names the maps in the error for other sizes.
class ConvRegImpl : public torch::nn::Module {
 public:
  ConvRegImpl(const std::vector<int64_t>& s, const std::vector<int64_t>& t, const std::string& loss, bool relu,
              const std::string& what = "hint layer");
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::AnyModule conv_;
  torch::nn::BatchNorm2d bn_{nullptr};
  bool relu_;
};
TORCH_MODULE(ConvReg);

// The training view's samples grouped by class, for CRD's negatives: `sorted` the positions in
// class order (stable), class c at [start[c], start[c] + count[c]).
struct ClassIndex {
  torch::Tensor labels, sorted;  // int64, CPU
  std::vector<int64_t> start, count;
};
ClassIndex class_index(const torch::Tensor& labels);
// CRD's "exact" contrast indices (dataset/cifar100.py CIFAR100InstanceSample): per sample its own
// position, then k positions of other classes drawn uniformly, without replacement where there
// are at least k, from a generator seeded with `seed`. B×(k+1), int64, CPU.
torch::Tensor crd_contrast_indices(const ClassIndex& classes, const torch::Tensor& positions, int64_t k, uint64_t seed);

std::unique_ptr<DistillTerm> make_fitnet(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_attention(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_similarity(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_pkt(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_rkd(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_vid(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_nst(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_correlation(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_fsp(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_ab(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_factor_transfer(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_crd(const TermContext& ctx);

}  // namespace kdprune::losses::feature
