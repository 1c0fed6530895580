#include <cstdio>

#include "cli.h"
#include "kdprune/commands/samples.h"

namespace kdprune::cli {

void add_samples(CLI::App& app, Action& action) {
  auto g = std::make_shared<commands::GalleryOptions>();
  auto* sub = add_command(
      app, action, "samples",
      "the highest- (and lowest-) scoring samples of a score file with their pixels, labels and class names "
      "(gallery .json + .npy; scripts/plot_samples.py draws them as the paper's Fig. 2)",
      [g](commands::CommandOptions& opts) {
        const auto r = commands::sample_gallery(opts, *g);
        std::printf("%lld highest and %lld lowest of %lld scored samples (%s): %s (images: %s)\n",
                    static_cast<long long>(g->top), static_cast<long long>(g->bottom),
                    static_cast<long long>(r["pool_size"].get<int64_t>()), r["dataset"].get<std::string>().c_str(),
                    r["gallery_file"].get<std::string>().c_str(), r["images_path"].get<std::string>().c_str());
        return 0;
      });
  sub->add_option("--scores,-s", g->scores, "per-sample scores (.npy or .csv), e.g. runs/score-forgetting/scores.npy")->required();
  sub->add_option("--top", g->top, "how many of the highest scores (default 10)");
  sub->add_option("--bottom", g->bottom, "how many of the lowest scores (default 0)");
  sub->add_option("--out,-o", g->out, "the gallery .json to write, its images beside it as .npy (default: gallery.json beside the scores)");
}

}  // namespace kdprune::cli
