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

std::unique_ptr<DistillTerm> make_fitnet(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_attention(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_similarity(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_pkt(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_rkd(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_vid(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_nst(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_correlation(const TermContext& ctx);
std::unique_ptr<DistillTerm> make_fsp(const TermContext& ctx);

}  // namespace kdprune::losses::feature
