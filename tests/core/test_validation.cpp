// data.val_split: a run trains only on its view's training part, evaluates the held-out part every
// evaluation epoch (val_loss, val_top1), chooses the best epoch by it, and sees the test split for
// the final model only.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "kdprune/data/dataset_registry.h"
#include "kdprune/data/train_view.h"
#include "kdprune/io/metrics_log.h"
#include "kdprune/train/trainer.h"
#include "test_files.h"

using namespace kdprune;
using kdprune::test::TempDir;
using kdprune::test::csv_rows;

namespace {
// Records every sample a run trains on.
struct Seen : train::TrainObserver {
  std::set<int64_t> samples;
  void on_step(const train::StepRecord& r) override {
    const auto i = r.indices.cpu();
    for (int64_t k = 0; k < i.size(0); ++k) samples.insert(i[k].item<int64_t>());
  }
};
}  // namespace

TEST(Validation, TrainsOnTheRestChoosesByValidationAndTestsTheFinalModel) {
  DataSection ds;
  ds.name = "synthetic";
  ds.synthetic = {120, 40, 1, 8, 8, 4, 1.0};  // noisy: the validation top-1 moves between epochs
  const auto data = data::to_tensors(data::load_dataset(ds, 2), torch::Device(torch::kCPU));
  const auto labels_t = data.train.labels.contiguous();
  const std::vector<int64_t> labels(labels_t.data_ptr<int64_t>(), labels_t.data_ptr<int64_t>() + labels_t.numel());
  const Config c = load_config("", {"prune.fraction=0.5", "data.val_split=0.25"});
  const auto view = data::select_train_view(c, labels, 4);
  ASSERT_EQ(view.indices.size() + view.val.size(), 60u);
  ASSERT_EQ(view.val.size(), 15u);

  TrainSection t;
  t.epochs = 6, t.batch_size = 15, t.lr = 0.05, t.schedule = "constant", t.amp = "off", t.channels_last = "false";
  TempDir d;
  io::MetricsLog log(d.path(), train::metrics_columns(true), 0);
  Seen seen;
  std::vector<int64_t> improved;
  torch::manual_seed(4);
  auto m = models::create_model("resnet8", {1, 4, 8});
  const auto r = train::fit({.model = *m, .data = data, .indices = view.indices, .train = t, .seed = 1, .metrics = &log,
                             .validation = view.val, .observers = {&seen}, .show_progress = false,
                             .on_best = [&](int64_t epoch) { improved.push_back(epoch); }});
  // Exactly the training part, never a validation sample.
  EXPECT_EQ(seen.samples, std::set<int64_t>(view.indices.begin(), view.indices.end()));
  for (int64_t i : view.val) EXPECT_EQ(seen.samples.count(i), 0u) << i;

  const auto rows = csv_rows(d.file("metrics.csv"));
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"epoch", "lr", "train_loss", "train_acc", "val_loss", "val_top1", "test_loss",
                                              "test_top1", "test_top5", "images_per_s", "seconds"}));
  double best = -1;
  int64_t best_epoch = -1;
  std::vector<int64_t> better;
  for (int64_t e = 1; e <= 6; ++e) {
    const auto& row = rows[static_cast<size_t>(e)];
    ASSERT_EQ(row.size(), 11u);
    ASSERT_FALSE(row[5].empty()) << "validation every evaluation epoch";
    const double v = std::stod(row[5]);
    if (v > best) best = v, best_epoch = e, better.push_back(e);
    // The test split: the final model only.
    EXPECT_EQ(row[7].empty(), e < 6) << "epoch " << e << ": '" << row[7] << "'";
  }
  EXPECT_TRUE(r.best_by_val);
  EXPECT_EQ(r.best_epoch, best_epoch);
  EXPECT_DOUBLE_EQ(r.best_val_top1, best);
  EXPECT_EQ(improved, better) << "best.pt follows the validation top-1";
  EXPECT_DOUBLE_EQ(r.final_eval.top1, std::stod(rows[6][7]));
  EXPECT_DOUBLE_EQ(r.final_val.top1, std::stod(rows[6][5]));
  // The validation evaluation is the plain evaluation of those samples (no augmentation).
  const auto val = torch::tensor(view.val, torch::kInt64);
  const data::TensorSplit held{data.train.images.index_select(0, val), data.train.labels.index_select(0, val), nullptr};
  const auto direct = train::evaluate(*m, held, data.info, 7);
  EXPECT_DOUBLE_EQ(direct.top1, r.final_val.top1);
  EXPECT_NEAR(direct.loss, r.final_val.loss, 1e-6 * direct.loss);  // float32 sums in other batch sizes
  EXPECT_EQ(r.final_val.samples, 15);
}
