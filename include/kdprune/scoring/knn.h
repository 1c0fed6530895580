#pragma once
// Exact k-nearest neighbours of every row of an embedding matrix, computed in row blocks on the
// embedding's device (N = 60k-100k fits: one block holds block x N distances).
#include <torch/torch.h>

#include "kdprune/prune/d2.h"

namespace kdprune::prune {

// Euclidean kNN of each row among the other rows (self excluded; ties: lower index).
KnnGraph knn_graph(const torch::Tensor& embedding, int64_t k, int64_t block = 1024);

}  // namespace kdprune::prune
