// `kdprune samples` end to end on a real score run: EL2N scores of the student part of a disjoint
// split of tiny synthetic data, the dataset and pool taken from the config.yaml beside the scores.
// The gallery's picks must lie in that pool, follow the scores, and carry the dataset's labels,
// class names and pixels; bad score files and mismatched pools are one line and write nothing.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "kdprune/data/dataset_registry.h"
#include "kdprune/data/train_view.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/io/npy.h"
#include "run_cli.h"
#include "tiny_run.h"

using namespace kdprune;
namespace fs = std::filesystem;

namespace {

DataSection tiny_data() {  // what tiny_run's overrides load
  DataSection d;
  d.name = "synthetic";
  d.synthetic.train_size = 64;
  d.synthetic.test_size = 32;
  d.synthetic.channels = 1;
  d.synthetic.height = 8;
  d.synthetic.width = 8;
  d.synthetic.classes = 4;
  return d;
}

// The data bytes of a .npy file (after its header).
std::string npy_data(const std::string& path) {
  const std::string b = io::read_file(path);
  const size_t header = static_cast<unsigned char>(b[8]) | (static_cast<size_t>(static_cast<unsigned char>(b[9])) << 8);
  EXPECT_NE(b.find("'descr': '|u1'"), std::string::npos);
  return b.substr(10 + header);
}

}  // namespace

TEST(SamplesCli, GalleryOfAScoreRunFollowsItsPoolScoresAndPixels) {
  test::TempDir d;
  const auto s = test::run("score " + test::tiny_run(d, "score-el2n") +
                           " score.method=el2n score.epochs=1 data.split=0.5 data.part=student");
  ASSERT_EQ(s.code, 0) << s.out;
  const std::string scores = d.file("score-el2n/scores.npy");
  const auto r = test::run("samples --scores " + scores + " --top 4 --bottom 3 --out " + d.file("g.json"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("4 highest and 3 lowest of 32 scored samples (synthetic)"), std::string::npos) << r.out;
  const auto g = nlohmann::json::parse(io::read_file(d.file("g.json")));
  EXPECT_EQ(g["images_file"], "g.npy");
  EXPECT_EQ(g["pool_size"], 32);
  EXPECT_EQ(g["part"], "student");
  EXPECT_EQ(g["method"], "el2n");

  // The pool and the dataset, computed here from the same settings.
  DataSection data = tiny_data();
  const auto ds = data::load_dataset(data, 0);
  data.split = 0.5;
  data.part = "student";
  const auto pool = data::select_train_indices(data, 64, 0);
  const auto values = io::read_npy_as_f64(scores);
  const std::string pixels = npy_data(d.file("g.npy"));
  ASSERT_EQ(pixels.size(), 7u * 64);
  double last = 0;
  for (size_t k = 0; k < g["samples"].size(); ++k) {
    const auto& p = g["samples"][k];
    const int64_t i = p["index"];
    SCOPED_TRACE("pick " + std::to_string(k) + ": sample " + std::to_string(i));
    EXPECT_TRUE(std::binary_search(pool.begin(), pool.end(), i)) << "outside the scoring pool";
    EXPECT_EQ(p["group"], k < 4 ? "top" : "bottom");
    EXPECT_DOUBLE_EQ(p["score"].get<double>(), values[static_cast<size_t>(i)]);
    if (k != 0 && k != 4) EXPECT_TRUE(k < 4 ? p["score"].get<double>() <= last : p["score"].get<double>() >= last);
    last = p["score"];
    EXPECT_EQ(p["label"], ds.train.labels[static_cast<size_t>(i)]);
    EXPECT_EQ(p["class"], ds.info.class_names[static_cast<size_t>(ds.train.labels[static_cast<size_t>(i)])]);
    EXPECT_EQ(pixels.substr(k * 64, 64),
              std::string(ds.train.images.begin() + i * 64, ds.train.images.begin() + (i + 1) * 64));
  }
  // The highest score of the pool is first, whatever the placeholders outside it hold.
  double best = -1e300;
  for (int64_t i : pool) best = std::max(best, values[static_cast<size_t>(i)]);
  EXPECT_DOUBLE_EQ(g["samples"][0]["score"].get<double>(), best);
}

TEST(SamplesCli, BadScoreFilesAreOneLineAndWriteNoImage) {
  test::TempDir d;
  const std::string data = " data.name=synthetic data.synthetic.train_size=64 data.synthetic.test_size=32"
                           " data.synthetic.channels=1 data.synthetic.height=8 data.synthetic.width=8 data.synthetic.classes=4";
  const std::string out = " --out " + d.file("g.json");
  auto nothing_written = [&] {
    EXPECT_FALSE(fs::exists(d.file("g.json")));
    EXPECT_FALSE(fs::exists(d.file("g.npy")));
  };
  for (const char* sub : {"short", "nan", "other", "ok"}) fs::create_directories(d.file(sub));
  io::write_npy_f32(d.file("short/scores.npy"), std::vector<float>(10, 1.0f));
  test::expect_one_line_error(test::run("samples --scores " + d.file("short/scores.npy") + out + data),
                              "scores file '" + d.file("short/scores.npy") + "': 10 scores for a training set of 64");
  std::vector<float> nan(64, 1.0f);
  nan[17] = std::nanf("");
  io::write_npy_f32(d.file("nan/scores.npy"), nan);
  test::expect_one_line_error(test::run("samples --scores " + d.file("nan/scores.npy") + out + data),
                              "score at position 17 is NaN");
  io::write_npy_f32(d.file("other/scores.npy"), std::vector<float>(64, 1.0f));
  io::write_file_atomic(d.file("other/scores.json"), R"({"dataset": "cifar10"})");
  test::expect_one_line_error(test::run("samples --scores " + d.file("other/scores.npy") + out + data),
                              "are of cifar10 (scores.json) but data.name loads synthetic");
  test::expect_one_line_error(test::run("samples --scores " + d.file("short/scores.npy") + " --out g.png" + data),
                              "expected a .json path");
  test::expect_one_line_error(test::run("samples --scores " + d.file("missing.npy") + out + data), "no such file");
  io::write_npy_f32(d.file("ok/scores.npy"), std::vector<float>(64, 1.0f));
  test::expect_one_line_error(test::run("samples --scores " + d.file("ok/scores.npy") + " --top 65" + out + data),
                              "--top 65 is more than the 64 samples");
  nothing_written();

  // Scores of the student part read as the teacher part: the recorded pool differs.
  const auto s = test::run("score " + test::tiny_run(d, "sc") + " score.method=el2n score.epochs=1 data.split=0.5 data.part=student");
  ASSERT_EQ(s.code, 0) << s.out;
  test::expect_one_line_error(test::run("samples --scores " + d.file("sc/scores.npy") + out + " data.part=teacher"),
                              "samples: the scores in " + d.file("sc/scores.npy") + " were computed on a pool of 32 samples");
  nothing_written();
}
