#include <cmath>

#include "kdprune/dist/collective.h"
#include "kdprune/train/precision.h"
#include "kdprune/train/trainer.h"

namespace kdprune::train {

EvalResult evaluate(models::ModelImpl& model, const data::TensorSplit& split, const data::DatasetInfo& info,
                    int64_t batch_size, Autocast amp, bool channels_last, dist::Collective* collective) {
  return evaluate(model, split, torch::Tensor(), info, batch_size, amp, channels_last, collective);
}

EvalResult evaluate(models::ModelImpl& model, const data::TensorSplit& split, const torch::Tensor& samples,
                    const data::DatasetInfo& info, int64_t batch_size, Autocast amp, bool channels_last,
                    dist::Collective* collective) {
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  const bool some = samples.defined();  // a subset of the split (a validation set), else all of it
  const torch::Tensor labels = some ? split.labels.index_select(0, samples) : split.labels;
  const int64_t n = labels.size(0);
  const int64_t world = collective ? collective->world() : 1, rank = collective ? collective->rank() : 0;
  const int64_t first = n * rank / world, last = n * (rank + 1) / world;  // this rank's part
  const int64_t k = std::min<int64_t>(5, info.classes);
  const auto dev = split.labels.device();
  auto loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(dev));
  auto c1 = torch::zeros({}, torch::TensorOptions().dtype(torch::kInt64).device(dev)), c5 = c1.clone();
  auto class_hits = torch::zeros({info.classes}, c1.options());
  const data::Normalizer normalise(info, dev);
  for (int64_t s = first; s < last; s += batch_size) {
    const int64_t e = std::min(last, s + batch_size);
    torch::Tensor x, y = labels.slice(0, s, e);
    if (split.stream) {
      // A file that failed to decode is scored as the sample that took its place (its label too).
      auto b = data::stream_images(*split.stream, some ? samples.slice(0, s, e) : torch::arange(s, e, torch::kInt64), false, 0, 0, dev);
      x = normalise(b.images);
      if (b.substituted) y = split.labels.index_select(0, b.samples);
    } else {
      x = normalise(some ? split.images.index_select(0, samples.slice(0, s, e)) : split.images.slice(0, s, e));
    }
    if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    torch::Tensor logits;
    {
      AutocastScope autocast(amp, dev);
      logits = model.forward(x);
    }
    logits = logits.to(torch::kFloat32);
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .to(torch::kFloat64);
    auto hit = std::get<1>(logits.topk(k, 1)).eq(y.view({-1, 1}));
    auto top1_hit = hit.select(1, 0);
    c1 += top1_hit.sum();
    c5 += hit.any(1).sum();
    class_hits.index_add_(0, y, top1_hit.to(torch::kInt64));
  }
  if (was_training) model.train();
  if (collective) collective->allreduce({loss_sum, c1, c5, class_hits});
  EvalResult r;
  r.samples = n;
  if (n == 0) return r;
  r.loss = loss_sum.item<double>() / static_cast<double>(n);
  r.top1 = 100.0 * static_cast<double>(c1.item<int64_t>()) / static_cast<double>(n);
  r.top5 = 100.0 * static_cast<double>(c5.item<int64_t>()) / static_cast<double>(n);
  const auto hits = class_hits.cpu(), totals = torch::bincount(labels, {}, info.classes).cpu();
  for (int64_t c = 0; c < info.classes; ++c) {
    const auto total = totals[c].item<int64_t>();
    r.per_class_top1.push_back(total ? 100.0 * static_cast<double>(hits[c].item<int64_t>()) / static_cast<double>(total)
                                     : std::nan(""));
  }
  return r;
}

}  // namespace kdprune::train
