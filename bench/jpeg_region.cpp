// Training views of an image folder, one thread, two ways on the same files and boxes: the whole
// JPEG decoded then cropped (how PIL and torchvision make RandomResizedCrop) against only the box's
// rows and iMCU columns decoded (decode_image_region, what data.imagefolder.stream does). Both give
// the same bytes (tests/base/test_image_region.cpp); this prints what the partial decode saves.
//   jpeg_region --root DIR [--size 224] [--repeats 3]
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "data/readers/image_io.h"

namespace {
using kdprune::data::CropBox;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"partial JPEG decoding for training views"};
  std::string root;
  int64_t size = 224, repeats = 3;
  app.add_option("--root", root, "image folder (its train/ is read)")->required();
  app.add_option("--size", size, "training crop size");
  app.add_option("--repeats", repeats, "passes over the files (the best is kept)");
  CLI11_PARSE(app, argc, argv);
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(std::filesystem::path(root) / "train"))
    if (e.is_regular_file()) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  // One box per file, drawn as RandomResizedCrop does, used by both ways.
  std::vector<CropBox> boxes;
  std::mt19937_64 gen(0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (const auto& f : files) {
    const auto img = kdprune::data::decode_image(f);
    boxes.push_back(kdprune::data::random_resized_crop_box(img.h, img.w, [&] { return u(gen); }));
  }
  double full = 1e30, part = 1e30, area = 0;
  size_t checksum_full = 0, checksum_part = 0;
  for (int64_t r = 0; r < repeats; ++r) {
    auto t = std::chrono::steady_clock::now();
    for (size_t i = 0; i < files.size(); ++i) {
      const auto img = kdprune::data::decode_image(files[i]);
      if (r == 0) area += static_cast<double>(boxes[i].h * boxes[i].w) / static_cast<double>(img.h * img.w);
      checksum_full += kdprune::data::resized_crop(img, boxes[i], size, false)[0];
    }
    full = std::min(full, seconds_since(t));
    t = std::chrono::steady_clock::now();
    for (size_t i = 0; i < files.size(); ++i) {
      auto region = kdprune::data::decode_image_region(files[i], [&](int64_t, int64_t) { return boxes[i]; });
      checksum_part += kdprune::data::resized_crop(std::move(region.image), size, false)[0];
    }
    part = std::min(part, seconds_since(t));
  }
  const double n = static_cast<double>(files.size());
  std::printf("%zu images, RandomResizedCrop(%lld) boxes covering %.0f%% of the image on average, 1 thread, best of %lld\n",
              files.size(), static_cast<long long>(size), 100.0 * area / n, static_cast<long long>(repeats));
  std::printf("%-44s %10s\n", "training view", "images/s");
  std::printf("%-44s %10.1f\n", "whole JPEG decoded, then cropped and resized", n / full);
  std::printf("%-44s %10.1f   %.2fx%s\n", "the box's rows and iMCU columns decoded", n / part, full / part,
              checksum_full == checksum_part ? "" : "   (outputs differ!)");
  return 0;
}
