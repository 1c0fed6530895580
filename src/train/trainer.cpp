#include "kdprune/train/trainer.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "kdprune/io/csv_table.h"
#include "kdprune/train/augment.h"
#include "kdprune/train/lr_schedule.h"
#include "kdprune/util/error.h"

namespace kdprune::train {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

uint64_t stream_seed(int64_t seed, int64_t epoch, uint64_t stream) {
  uint64_t z = static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch) * 0xBF58476D1CE4E5B9ULL + stream;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;  // splitmix64 finaliser
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
constexpr uint64_t kOrderStream = 1, kAugmentStream = 2;

torch::Generator cpu_generator(uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return g;
}

void set_lr(torch::optim::SGD& opt, double lr) {
  for (auto& group : opt.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
}

}  // namespace

torch::Tensor epoch_permutation(int64_t n, int64_t seed, int64_t epoch) {
  auto gen = cpu_generator(stream_seed(seed, epoch, kOrderStream));
  return torch::randperm(n, gen, torch::kInt64);
}

std::vector<std::string> metrics_columns() {
  return {"epoch", "lr", "train_loss", "train_acc", "test_loss", "test_top1", "test_top5", "images_per_s", "seconds"};
}

EvalResult evaluate(models::ModelImpl& model, const data::TensorSplit& split, const data::DatasetInfo& info,
                    int64_t batch_size) {
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  const int64_t n = split.size();
  const int64_t k = std::min<int64_t>(5, info.classes);
  torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(split.labels.device()));
  torch::Tensor c1 = torch::zeros({}, loss_sum.options().dtype(torch::kInt64)), c5 = c1.clone();
  torch::Tensor class_hits = torch::zeros({info.classes}, c1.options());
  for (int64_t s = 0; s < n; s += batch_size) {
    const int64_t e = std::min(n, s + batch_size);
    auto x = data::normalise(split.images.slice(0, s, e), info);
    auto y = split.labels.slice(0, s, e);
    auto logits = model.forward(x).to(torch::kFloat32);
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .to(torch::kFloat64);
    auto top = std::get<1>(logits.topk(k, 1));
    auto hit = top.eq(y.view({-1, 1}));
    c1 += hit.select(1, 0).sum();
    c5 += hit.any(1).sum();
    class_hits.index_add_(0, y, hit.select(1, 0).to(torch::kInt64));
  }
  if (was_training) model.train();
  EvalResult r;
  r.samples = n;
  if (n == 0) return r;
  r.loss = loss_sum.item<double>() / static_cast<double>(n);
  r.top1 = 100.0 * static_cast<double>(c1.item<int64_t>()) / static_cast<double>(n);
  r.top5 = 100.0 * static_cast<double>(c5.item<int64_t>()) / static_cast<double>(n);
  const auto hits = class_hits.cpu(), totals = torch::bincount(split.labels, {}, info.classes).cpu();
  for (int64_t c = 0; c < info.classes; ++c) {
    const auto total = totals[c].item<int64_t>();
    r.per_class_top1.push_back(total ? 100.0 * static_cast<double>(hits[c].item<int64_t>()) / static_cast<double>(total)
                                     : std::nan(""));
  }
  return r;
}

TrainResult fit(const TrainInputs& in) {
  auto& model = in.model;
  const auto& t = in.train;
  const auto device = in.data.train.images.device();
  model.to(device);
  model.train();

  auto opts = torch::TensorOptions().dtype(torch::kInt64);
  torch::Tensor view = torch::tensor(in.indices, opts).to(device);
  int64_t n = view.size(0);
  if (n == 0) throw Error("the training view is empty (check data.fraction / data.subset)");
  // BatchNorm cannot train on a batch of one: a lone last sample is left out of that epoch.
  const int64_t usable = (n > 1 && n % t.batch_size == 1) ? n - 1 : n;
  const int64_t steps = (usable + t.batch_size - 1) / t.batch_size;

  torch::optim::SGD opt(model.parameters(), torch::optim::SGDOptions(t.lr)
                                                .momentum(t.momentum)
                                                .nesterov(t.nesterov)
                                                .weight_decay(t.weight_decay));
  const AugmentSpec aug = augment_spec(in.data.info, in.data.train.images.size(2), in.augment);
  spdlog::info("training on {} samples, {} steps/epoch, {} epochs (augment: crop pad {}, flip {})", n, steps, t.epochs,
               aug.pad, aug.flip);

  TrainResult result;
  const auto start = Clock::now();
  double train_time = 0;
  int64_t trained_images = 0;
  for (int64_t epoch = 0; epoch < t.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    auto order = view.index_select(0, epoch_permutation(n, in.seed, epoch).to(device));
    auto gen = cpu_generator(stream_seed(in.seed, epoch, kAugmentStream));
    auto loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
    auto correct = torch::zeros({}, opts.device(device));
    double lr = t.lr;
    for (int64_t step = 0; step < steps; ++step) {
      const int64_t s = step * t.batch_size, e = std::min(usable, s + t.batch_size);
      auto idx = order.slice(0, s, e);
      auto x = augment_batch(in.data.train.images.index_select(0, idx), in.data.info, aug, gen);
      auto y = in.data.train.labels.index_select(0, idx);
      lr = lr_at(t, epoch, step, steps);
      set_lr(opt, lr);
      auto logits = model.forward(x);
      auto loss = torch::nn::functional::cross_entropy(logits, y);
      opt.zero_grad();
      loss.backward();
      opt.step();
      loss_sum += loss.detach().to(torch::kFloat64) * static_cast<double>(e - s);
      correct += logits.detach().argmax(1).eq(y).sum();
    }
    const double train_loss = loss_sum.item<double>() / static_cast<double>(usable);
    if (!std::isfinite(train_loss))
      throw Error("training diverged: non-finite loss in epoch " + std::to_string(epoch + 1) +
                  " (lower train.lr or check the data)");
    const double train_acc = 100.0 * static_cast<double>(correct.item<int64_t>()) / static_cast<double>(usable);
    const double epoch_train_s = seconds_since(epoch_start);
    train_time += epoch_train_s;
    trained_images += usable;
    const double ips = static_cast<double>(usable) / epoch_train_s;

    const bool last = epoch + 1 == t.epochs;
    std::vector<std::string> row{std::to_string(epoch + 1), io::csv_field(lr), io::csv_field(train_loss),
                                 io::csv_field(train_acc), "", "", "", io::csv_field(ips), ""};
    if ((epoch + 1) % t.eval_every == 0 || last) {
      result.final_eval = evaluate(model, in.data.test, in.data.info, t.eval_batch_size);
      if (result.final_eval.top1 > result.best_top1 || result.best_epoch < 0) {
        result.best_top1 = result.final_eval.top1;
        result.best_epoch = epoch + 1;
      }
      row[4] = io::csv_field(result.final_eval.loss);
      row[5] = io::csv_field(result.final_eval.top1);
      row[6] = io::csv_field(result.final_eval.top5);
      spdlog::info("epoch {}/{}  lr {:.4g}  train loss {:.4f} acc {:.2f}%  test loss {:.4f} top1 {:.2f}% top5 {:.2f}%  {:.0f} img/s",
                   epoch + 1, t.epochs, lr, train_loss, train_acc, result.final_eval.loss, result.final_eval.top1,
                   result.final_eval.top5, ips);
    } else {
      spdlog::info("epoch {}/{}  lr {:.4g}  train loss {:.4f} acc {:.2f}%  {:.0f} img/s", epoch + 1, t.epochs, lr,
                   train_loss, train_acc, ips);
    }
    row[8] = io::csv_field(seconds_since(start));
    if (in.metrics) in.metrics->append(row);
  }
  result.epochs = t.epochs;
  result.train_seconds = train_time;
  result.images_per_second = train_time > 0 ? static_cast<double>(trained_images) / train_time : 0;
  if (t.epochs == 0) {
    result.final_eval = evaluate(model, in.data.test, in.data.info, t.eval_batch_size);
    result.best_top1 = result.final_eval.top1;
  }
  return result;
}

}  // namespace kdprune::train
