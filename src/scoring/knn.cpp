#include "kdprune/scoring/knn.h"

#include "kdprune/util/error.h"

namespace kdprune::prune {

KnnGraph knn_graph(const torch::Tensor& embedding, int64_t k, int64_t block) {
  torch::NoGradGuard ng;
  const auto x = embedding.to(torch::kFloat32);
  const int64_t n = x.size(0);
  if (k >= n) throw Error("d2: prune.knn = " + std::to_string(k) + " needs more than " + std::to_string(k) + " samples");
  const auto sq = x.pow(2).sum(1);
  KnnGraph g{n, k, std::vector<int64_t>(static_cast<size_t>(n * k)), std::vector<double>(static_cast<size_t>(n * k))};
  for (int64_t s = 0; s < n; s += block) {
    const int64_t e = std::min(n, s + block);
    auto d2 = (sq.slice(0, s, e).unsqueeze(1) + sq.unsqueeze(0) - 2.0 * x.slice(0, s, e).matmul(x.t())).clamp_min(0);
    const auto rows = torch::arange(s, e, torch::TensorOptions().dtype(torch::kInt64).device(x.device()));
    d2.index_put_({rows - s, rows}, std::numeric_limits<float>::infinity());  // not its own neighbour
    // topk of the negated distances; sorted=true gives nearest first. Stable ordering of equal
    // distances is not guaranteed by topk, so ties are re-sorted by index below.
    const auto [vals, idx] = (-d2).topk(k, 1, true, true);
    const auto dist = (-vals).sqrt().to(torch::kFloat64).cpu().contiguous();
    const auto nb = idx.cpu().contiguous();
    const double* dp = dist.data_ptr<double>();
    const int64_t* ip = nb.data_ptr<int64_t>();
    for (int64_t r = 0; r < e - s; ++r) {
      std::vector<std::pair<double, int64_t>> row;
      for (int64_t c = 0; c < k; ++c) row.emplace_back(dp[r * k + c], ip[r * k + c]);
      std::sort(row.begin(), row.end());
      for (int64_t c = 0; c < k; ++c) {
        g.distances[static_cast<size_t>((s + r) * k + c)] = row[static_cast<size_t>(c)].first;
        g.neighbors[static_cast<size_t>((s + r) * k + c)] = row[static_cast<size_t>(c)].second;
      }
    }
  }
  return g;
}

}  // namespace kdprune::prune
