// The imagefolder dataset: torchvision's ImageFolder layout, root/train/<class>/**/<image> and
// root/val/<class>/**/<image>, in its order (classes: the sorted folder names; within a class the
// sorted os.walk order: by folder, then by file name). JPEG and PNG files (.jpg, .jpeg, .png, any
// case) are decoded on all cores and brought once to data.imagefolder.size × size by torchvision's
// eval transform (Resize(size) + CenterCrop(size), Pillow's bilinear), kept as uint8 in memory.
// Files that fail to decode are reported with their path; up to data.imagefolder.max_bad are
// skipped (each named in the log), more stop the load. The paths of the training samples, in
// index order, go to DatasetInfo::train_files (a run writes them to samples.txt). The decoded set
// is saved (data.imagefolder.cache) and reused while the files are unchanged. With
// data.imagefolder.stream, nothing is decoded here: the splits carry an ImageStream that decodes
// each batch (ImageNet's RandomResizedCrop / Resize + CenterCrop at data.imagefolder.size).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

#include "image_io.h"
#include "kdprune/data/image_stream.h"
#include "kdprune/util/error.h"
#include "readers.h"

namespace kdprune::data {
namespace {

namespace fs = std::filesystem;

struct Listing {
  std::vector<std::string> classes;
  std::vector<std::string> files;
  std::vector<int64_t> labels;
  int64_t other_images = 0;  // torchvision's other extensions (.bmp, .webp, ...): not decoded here
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Listing list_split(const std::string& dir) {
  if (!fs::is_directory(dir)) throw Error("imagefolder: '" + dir + "' is not a folder (expected <root>/train and <root>/val)");
  Listing l;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) l.classes.push_back(e.path().filename().string());
  std::sort(l.classes.begin(), l.classes.end());
  if (l.classes.empty()) throw Error("imagefolder: '" + dir + "' has no class folders");
  for (size_t c = 0; c < l.classes.size(); ++c) {
    // os.walk sorted: by folder, then the sorted file names in it.
    std::vector<std::pair<std::string, std::string>> found;
    const fs::path class_dir = fs::path(dir) / l.classes[c];
    for (const auto& e : fs::recursive_directory_iterator(class_dir, fs::directory_options::follow_directory_symlink)) {
      // A link to nothing is an image that cannot be read: listed, so decoding reports it as a
      // failure (data.imagefolder.max_bad) instead of the listing dropping it unseen.
      std::error_code ec;
      const bool dangling = e.is_symlink(ec) && !fs::exists(e.path(), ec);
      if (!e.is_regular_file(ec) && !dangling) continue;
      const std::string ext = lower(e.path().extension().string());
      if (ext == ".jpg" || ext == ".jpeg" || ext == ".png")
        found.emplace_back(e.path().parent_path().string(), e.path().filename().string());
      else if (ext == ".ppm" || ext == ".bmp" || ext == ".pgm" || ext == ".tif" || ext == ".tiff" || ext == ".webp")
        ++l.other_images;
    }
    if (found.empty()) throw Error("imagefolder: class folder '" + class_dir.string() + "' has no .jpg, .jpeg or .png file");
    std::sort(found.begin(), found.end());
    for (const auto& [folder, name] : found) {
      l.files.push_back((fs::path(folder) / name).string());
      l.labels.push_back(static_cast<int64_t>(c));
    }
  }
  return l;
}

// Decodes and resizes every file on all cores; the failures are left out and reported.
DecodedSplit decode_split(const Listing& l, int64_t size) {
  const auto n = static_cast<int64_t>(l.files.size());
  const int64_t bytes = 3 * size * size;
  DecodedSplit d;
  ImageSplit& s = d.images;
  s.c = 3, s.h = size, s.w = size;
  s.images.resize(static_cast<size_t>(n * bytes));
  std::vector<std::string> errors(static_cast<size_t>(n));
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i = next++; i < n; i = next++) {
      try {
        const auto chw = resize_centre_crop(decode_image(l.files[static_cast<size_t>(i)]), size);
        std::copy(chw.begin(), chw.end(), s.images.begin() + i * bytes);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(i)] = e.what();
      }
    }
  };
  const unsigned threads = std::max(1u, std::min(std::thread::hardware_concurrency(), 16u));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  // Keep the good ones, in order.
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!errors[static_cast<size_t>(i)].empty()) {
      d.errors.push_back(errors[static_cast<size_t>(i)]);
      continue;
    }
    if (kept != i) std::copy_n(s.images.begin() + i * bytes, bytes, s.images.begin() + kept * bytes);
    s.labels.push_back(l.labels[static_cast<size_t>(i)]);
    d.files.push_back(l.files[static_cast<size_t>(i)]);
    ++kept;
  }
  s.images.resize(static_cast<size_t>(kept * bytes));
  s.n = kept;
  return d;
}

// More failures than data.imagefolder.max_bad stop the load; fewer are named in the log.
void check_failures(const DecodedSplit& d, int64_t max_bad, const std::string& split) {
  const auto bad = static_cast<int64_t>(d.errors.size());
  const int64_t listed = d.images.n + bad;
  if (bad > max_bad)
    throw Error("imagefolder: " + std::to_string(bad) + " of " + std::to_string(listed) + " " + split +
                " images failed to decode (data.imagefolder.max_bad = " + std::to_string(max_bad) + "); the first: " +
                d.errors.front());
  for (const auto& e : d.errors) spdlog::warn("imagefolder: skipped {}", e);
  if (bad > 0) spdlog::warn("imagefolder: {} of {} {} images skipped (data.imagefolder.max_bad = {})", bad, listed, split, max_bad);
}

}  // namespace

RawDataset load_image_folder(const DataSection& data, int64_t) {
  if (data.root.empty()) throw Error("data.root: the imagefolder dataset needs its folder (<root>/train/<class>/..., <root>/val/<class>/...)");
  Listing train = list_split((fs::path(data.root) / "train").string());
  Listing val = list_split((fs::path(data.root) / "val").string());
  if (val.classes != train.classes)
    throw Error("imagefolder: '" + (fs::path(data.root) / "val").string() + "' has " + std::to_string(val.classes.size()) +
                " class folders, '" + (fs::path(data.root) / "train").string() + "' " +
                std::to_string(train.classes.size()) + ": the two must name the same classes");
  for (const Listing* l : {&train, &val})
    if (l->other_images > 0)
      spdlog::warn("imagefolder: {} files with other image extensions (.bmp, .ppm, .pgm, .tif, .tiff, .webp) left out: "
                   "only JPEG and PNG are decoded (torchvision's ImageFolder would list them)",
                   l->other_images);
  const int64_t size = data.imagefolder.size;
  RawDataset ds;
  ds.source = data.root;
  ds.info.name = "imagefolder";
  ds.info.classes = static_cast<int64_t>(train.classes.size());
  ds.info.class_names = train.classes;
  ds.info.mean = {0.485f, 0.456f, 0.406f};  // ImageNet's, as torchvision's reference recipes
  ds.info.std = {0.229f, 0.224f, 0.225f};
  ds.info.flip = true;
  if (data.imagefolder.stream) {
    // Decoded per batch as training reads them: nothing is decoded (or cached) here.
    if (data.imagefolder.eval_resize > 0 && data.imagefolder.eval_resize < size)
      throw Error("data.imagefolder.eval_resize: expected 0 (size·8/7) or at least data.imagefolder.size (" +
                  std::to_string(size) + "), got " + std::to_string(data.imagefolder.eval_resize));
    StreamSettings st;
    st.size = size;
    // torchvision's ImageNet recipe: Resize(256) + CenterCrop(224), i.e. size·8/7.
    st.eval_resize = data.imagefolder.eval_resize > 0 ? data.imagefolder.eval_resize : (size * 16 + 7) / 14;
    st.max_bad = data.imagefolder.max_bad;
    st.threads = data.imagefolder.threads;
    for (auto* split : {&ds.train, &ds.test}) {
      const Listing& l = split == &ds.train ? train : val;
      split->n = static_cast<int64_t>(l.files.size()), split->c = 3, split->h = size, split->w = size;
      split->labels = l.labels;
      split->stream = std::make_shared<const ImageStream>(l.files, st);
    }
    spdlog::info("imagefolder: {} train / {} val files decoded per batch ({} threads): training views RandomResizedCrop({}) + "
                 "flip, evaluation Resize({}) + CenterCrop({})",
                 train.files.size(), val.files.size(), st.threads > 0 ? std::to_string(st.threads) : "all cores", size,
                 st.eval_resize, size);
    ds.info.train_files = std::move(train.files);
    return ds;
  }
  // The decoded set is kept beside the folder for later runs (data.imagefolder.cache).
  const std::string& cache_dir = data.imagefolder.cache;
  const std::string cache =
      cache_dir == "off" ? ""
                         : ((cache_dir.empty() ? fs::path(data.root) / ".kdprune-cache" : fs::path(cache_dir)) /
                            ("imagefolder-" + std::to_string(size) + "px.bin"))
                               .string();
  const std::string fingerprint = folder_fingerprint(train.files, val.files, size);
  std::optional<std::pair<DecodedSplit, DecodedSplit>> decoded;
  if (!cache.empty()) decoded = read_folder_cache(cache, fingerprint);
  // A cache whose labels do not fit this folder's classes is damaged: decode again.
  const auto fits = [&](const DecodedSplit& d) {
    return std::all_of(d.images.labels.begin(), d.images.labels.end(),
                       [&](int64_t y) { return y >= 0 && y < static_cast<int64_t>(train.classes.size()); });
  };
  if (decoded && !(fits(decoded->first) && fits(decoded->second))) decoded.reset();
  if (decoded) {
    spdlog::info("imagefolder: decoded images from the cache {}", cache);
  } else {
    decoded.emplace(decode_split(train, size), decode_split(val, size));
    if (!cache.empty()) {
      try {
        fs::create_directories(fs::path(cache).parent_path());
        write_folder_cache(cache, fingerprint, decoded->first, decoded->second);
        spdlog::info("imagefolder: decoded images saved to {} for later runs", cache);
      } catch (const std::exception& e) {  // a read-only dataset folder: decode again next time
        spdlog::warn("imagefolder: cannot save the decoded images to {} ({}); set data.imagefolder.cache to a writable folder", cache, e.what());
      }
    }
  }
  check_failures(decoded->first, data.imagefolder.max_bad, "train");
  check_failures(decoded->second, data.imagefolder.max_bad, "val");
  ds.train = std::move(decoded->first.images);
  ds.test = std::move(decoded->second.images);
  ds.info.train_files = std::move(decoded->first.files);
  return ds;
}

}  // namespace kdprune::data
