#include "kdprune/data/sample_gallery.h"

#include <algorithm>
#include <cstring>

#include "kdprune/data/image_stream.h"
#include "kdprune/util/error.h"

namespace kdprune::data {

std::vector<GalleryPick> rank_pool(const std::vector<int64_t>& pool, const std::vector<double>& scores,
                                   const std::vector<int64_t>& labels, int64_t top, int64_t bottom) {
  const auto n = static_cast<int64_t>(pool.size());
  if (top < 0 || bottom < 0) throw Error("samples: --top and --bottom must be >= 0");
  if (top == 0 && bottom == 0) throw Error("samples: nothing to draw (--top and --bottom are both 0)");
  for (const auto& [what, k] : {std::pair{"--top", top}, std::pair{"--bottom", bottom}})
    if (k > n)
      throw Error(std::string("samples: ") + what + " " + std::to_string(k) + " is more than the " + std::to_string(n) +
                  " samples the scores rank (the scoring pool)");
  std::vector<int64_t> order = pool;
  // Descending score, ties by the lower index (deterministic, as selection breaks them).
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const double sa = scores[static_cast<size_t>(a)], sb = scores[static_cast<size_t>(b)];
    return sa != sb ? sa > sb : a < b;
  });
  std::vector<GalleryPick> picks;
  auto add = [&](const char* group, int64_t rank, int64_t i) {
    picks.push_back({group, rank, i, labels[static_cast<size_t>(i)], scores[static_cast<size_t>(i)]});
  };
  for (int64_t r = 0; r < top; ++r) add("top", r + 1, order[static_cast<size_t>(r)]);
  // The lowest: ascending score, ties again by the lower index (not the reverse of the order above).
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const double sa = scores[static_cast<size_t>(a)], sb = scores[static_cast<size_t>(b)];
    return sa != sb ? sa < sb : a < b;
  });
  for (int64_t r = 0; r < bottom; ++r) add("bottom", r + 1, order[static_cast<size_t>(r)]);
  return picks;
}

Gallery sample_gallery(const RawDataset& ds, const std::vector<int64_t>& pool, const std::vector<double>& scores,
                       int64_t top, int64_t bottom) {
  const ImageSplit& train = ds.train;
  if (static_cast<int64_t>(scores.size()) != train.n)
    throw InternalError("sample_gallery: " + std::to_string(scores.size()) + " scores for " + std::to_string(train.n) + " samples");
  Gallery g;
  g.picks = rank_pool(pool, scores, train.labels, top, bottom);
  g.c = train.c, g.h = train.h, g.w = train.w;
  const auto image = static_cast<size_t>(g.c * g.h * g.w);
  g.images.resize(g.picks.size() * image);
  if (train.stream) {
    // Decoded now, through the evaluation transform (no augmentation): what a test image looks like.
    std::vector<int64_t> idx;
    for (const auto& p : g.picks) idx.push_back(p.index);
    const auto got = train.stream->batch(idx.data(), static_cast<int64_t>(idx.size()), false, 0, 0, g.images.data());
    for (size_t k = 0; k < idx.size(); ++k)
      if (got[k] != idx[k])  // a file that failed to decode: its slot holds another sample
        throw Error("samples: '" + train.stream->file(idx[k]) + "' (training sample " + std::to_string(idx[k]) +
                    ") failed to decode; the gallery shows no stand-in");
    return g;
  }
  for (size_t k = 0; k < g.picks.size(); ++k)
    std::memcpy(g.images.data() + k * image, train.images.data() + static_cast<size_t>(g.picks[k].index) * image, image);
  return g;
}

}  // namespace kdprune::data
