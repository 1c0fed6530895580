#pragma once
// The one training loop. Teacher, student and scoring runs differ only in what they pass here.
#include <functional>
#include <string>
#include <vector>

#include "kdprune/config/config.h"
#include "kdprune/data/tensor_dataset.h"
#include "kdprune/models/model.h"

namespace kdprune::io {
class CsvTable;
}

namespace kdprune::train {

struct EvalResult {
  double loss = 0, top1 = 0, top5 = 0;  // accuracies in percent
  int64_t samples = 0;
  std::vector<double> per_class_top1;   // percent; NaN for a class absent from the split
};

struct TrainResult {
  EvalResult final_eval;
  double best_top1 = 0;
  int64_t best_epoch = -1;
  double images_per_second = 0;
  double train_seconds = 0;
  int64_t epochs = 0;
};

// The permutation of the training indices for an epoch: a pure function of (seed, epoch).
torch::Tensor epoch_permutation(int64_t n, int64_t seed, int64_t epoch);

EvalResult evaluate(models::ModelImpl& model, const data::TensorSplit& split, const data::DatasetInfo& info,
                    int64_t batch_size);


}  // namespace kdprune::train
namespace kdprune::train {

struct TrainInputs {
  models::ModelImpl& model;
  const data::TensorDataset& data;
  const std::vector<int64_t>& indices;  // the training view
  const TrainSection& train;
  bool augment = true;
  int64_t seed = 0;
  io::CsvTable* metrics = nullptr;  // one row per epoch (metrics_columns())
};

std::vector<std::string> metrics_columns();

TrainResult fit(const TrainInputs& in);

}  // namespace kdprune::train
