// kdprune score --checkpoint (score.checkpoint): the methods that are functions of one model score
// a model file instead of training one. A scoring run that saves its model (score.save_models)
// and a second run scoring that file must give the same scores, bit for bit: both go through the
// same inference on the same weights (un-augmented, eval mode). Bad input fails in one line and
// leaves no run directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "run_cli.h"
#include "test_files.h"

namespace fs = std::filesystem;
using kdprune::test::expect_one_line_error;
using kdprune::test::read_bytes;
using kdprune::test::run;
using kdprune::test::TempDir;
using kdprune::test::write_bytes;

namespace {
// 96 synthetic samples of 1×8×8, 4 classes; no model.arch: a checkpoint run takes the file's.
// On the CPU: there two processes do the same arithmetic, so the scores compare bit for bit
// (cuDNN's benchmark mode may pick another convolution algorithm in each process).
std::string data(const TempDir& d, const std::string& name) {
  return " run.root=" + d.path() + " run.name=" + name + " run.device=cpu" +
         " data.name=synthetic data.synthetic.train_size=96 data.synthetic.test_size=32"
         " data.synthetic.channels=1 data.synthetic.height=8 data.synthetic.width=8 data.synthetic.classes=4"
         " train.batch_size=16 train.schedule=constant run.threads=1";
}
// The scoring model: resnet14, not model.arch's default (resnet8), so that taking the
// architecture from the file is seen.
const std::string kTrained = " model.arch=resnet14 score.epochs=2";
nlohmann::json json_of(const std::string& path) { return nlohmann::json::parse(read_bytes(path)); }
}  // namespace

TEST(ScoreCheckpoint, ScoresTheSavedModelOfAScoringRunToTheSameValues) {
  TempDir d;
  struct Case {
    std::string name, keys;
  };
  const Case cases[] = {{"el2n", " score.method=el2n"},
                        {"grand", " score.method=grand"},  // score.scope=last_layer, the default
                        {"grand-full", " score.method=grand score.scope=full"},
                        {"moderate", " score.method=moderate"}};
  for (const Case& c : cases) {
    const std::string own = d.path() + "/own-" + c.name;
    auto r = run("score" + data(d, "own-" + c.name) + kTrained + " score.save_models=true" + c.keys);
    ASSERT_EQ(r.code, 0) << c.name << ": " << r.out;
    const auto own_info = json_of(own + "/scores.json");
    EXPECT_EQ(own_info["model_files"], nlohmann::json::array({own + "/model.pt"})) << c.name;
    EXPECT_TRUE(own_info["checkpoint"].is_null());
    for (const char* file : {"model.pt", "model.pth"}) {  // kdprune's model file, and its PyTorch export
      ASSERT_TRUE(fs::exists(own + "/" + file)) << c.name << " " << file;
      const std::string name = "ckpt-" + c.name + "-" + fs::path(file).extension().string().substr(1);
      const std::string dir = d.path() + "/" + name;
      auto again = run("score --checkpoint " + own + "/" + file + data(d, name) + c.keys);
      ASSERT_EQ(again.code, 0) << c.name << " " << file << ": " << again.out;
      EXPECT_EQ(read_bytes(dir + "/scores.npy"), read_bytes(own + "/scores.npy")) << c.name << " from " << file;
      EXPECT_EQ(read_bytes(dir + "/scores.csv"), read_bytes(own + "/scores.csv")) << c.name << " from " << file;
      // Where the scores came from: the file and its content digest; no training, so no AUM.
      const auto info = json_of(dir + "/scores.json");
      EXPECT_EQ(info["checkpoint"], own + "/" + file);
      EXPECT_EQ(info["checkpoint_digest"].get<std::string>().size(), 16u) << info.dump();
      EXPECT_EQ(info["model"], "resnet14");
      EXPECT_TRUE(info["epochs"].is_null());
      EXPECT_EQ(info["seeds"], nlohmann::json::array());
      EXPECT_TRUE(info["aum_file"].is_null());
      EXPECT_EQ(info["passes_over_data"], 1.0);
      EXPECT_FALSE(fs::exists(dir + "/aum.npy"));
      EXPECT_FALSE(fs::exists(dir + "/model.pt"));
      // config.yaml records the file and the architecture read from it.
      const std::string cfg = read_bytes(dir + "/config.yaml");
      EXPECT_NE(cfg.find("checkpoint: \"" + own + "/" + file + "\""), std::string::npos) << cfg;
      EXPECT_NE(cfg.find("arch: \"resnet14\""), std::string::npos) << cfg;
    }
  }
  // The equality is not vacuous: the scores depend on the model (one epoch less, other scores).
  ASSERT_EQ(run("score" + data(d, "own-el2n-1") + " model.arch=resnet14 score.epochs=1 score.method=el2n").code, 0);
  EXPECT_NE(read_bytes(d.path() + "/own-el2n-1/scores.npy"), read_bytes(d.path() + "/ckpt-el2n-pt/scores.npy"));
  // A checkpoint's scores select like any others.
  auto p = run("prune --scores " + d.path() + "/ckpt-moderate-pt/scores.npy" + data(d, "subset") +
               " prune.fraction=0.5 prune.level=moderate");
  ASSERT_EQ(p.code, 0) << p.out;
  EXPECT_EQ(json_of(d.path() + "/subset/subset.json")["subset_size"], 48);
}

// D2's kNN graph is the embedding of prune.model: a scoring run's saved model, as model.pt or
// model.pth, gives the same graph and the same subset.
TEST(ScoreCheckpoint, D2ReadsTheSavedScoringModel) {
  TempDir d;
  ASSERT_EQ(run("score" + data(d, "s") + kTrained + " score.method=el2n score.save_models=true").code, 0);
  for (const char* file : {"model.pt", "model.pth"}) {
    const std::string name = "d2-" + fs::path(file).extension().string().substr(1);
    auto r = run("prune --scores " + d.path() + "/s/scores.npy" + data(d, name) +
                 " prune.fraction=0.25 prune.sampling=d2 prune.knn=3 prune.model=" + d.path() + "/s/" + file);
    ASSERT_EQ(r.code, 0) << file << ": " << r.out;
  }
  EXPECT_EQ(read_bytes(d.path() + "/d2-pt/subset.npy"), read_bytes(d.path() + "/d2-pth/subset.npy"));
}

// Several scoring models are saved one file each.
TEST(ScoreCheckpoint, SaveModelsWritesOneFilePerModel) {
  TempDir d;
  auto r = run("score" + data(d, "two") + " score.method=el2n score.epochs=1 score.models=2 score.save_models=true");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string dir = d.path() + "/two";
  EXPECT_EQ(json_of(dir + "/scores.json")["model_files"], nlohmann::json::array({dir + "/model-0.pt", dir + "/model-1.pt"}));
  for (const char* f : {"model-0.pt", "model-0.pth", "model-1.pt", "model-1.pth"}) EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  EXPECT_NE(read_bytes(dir + "/model-0.pt"), read_bytes(dir + "/model-1.pt")) << "two seeds, two models";
  auto mem = run("score" + data(d, "mem") + " score.method=memorization score.epochs=1 score.models=2 score.save_models=true");
  expect_one_line_error(mem, "score.save_models: memorization's models");
  EXPECT_FALSE(fs::exists(d.path() + "/mem"));
}

TEST(ScoreCheckpoint, BadInputFailsInOneLineAndWritesNothing) {
  TempDir d;
  ASSERT_EQ(run("score" + data(d, "s") + kTrained + " score.method=el2n score.save_models=true").code, 0);
  const std::string model = d.path() + "/s/model.pt";
  // A damaged copy: the bytes of the middle of the file flipped.
  std::string bytes = read_bytes(model);
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) bytes[i] = static_cast<char>(~bytes[i]);
  write_bytes(d.file("damaged.pt"), bytes);
  write_bytes(d.file("empty.pth"), "");
  struct Bad {
    std::string args, needle;
  };
  const Bad bad[] = {
      {" --checkpoint " + d.file("missing.pt") + " score.method=el2n", "score.checkpoint: model file '" + d.file("missing.pt")},
      {" --checkpoint " + d.file("damaged.pt") + " score.method=el2n", "score.checkpoint: model file '" + d.file("damaged.pt")},
      {" --checkpoint " + d.file("empty.pth") + " score.method=moderate", "score.checkpoint: model file '" + d.file("empty.pth")},
      // Methods that need training dynamics: named, with the methods that accept a checkpoint.
      {" --checkpoint " + model + " score.method=forgetting",
       "score.checkpoint: forgetting is not a function of one model (it needs its model's training run); a checkpoint "
       "can be scored by el2n, grand or moderate"},
      {" --checkpoint " + model + " score.method=dual", "score.checkpoint: dual is not a function of one model"},
      {" --checkpoint " + model + " score.method=aum", "score.checkpoint: aum is not a function of one model"},
      {" --checkpoint " + model + " score.method=memorization",
       "score.checkpoint: memorization is not a function of one model (it needs models trained on subsets of the pool)"},
      // The architecture the config names is not the file's.
      {" --checkpoint " + model + " score.method=el2n model.arch=resnet8",
       "score.checkpoint '" + model + "' holds a resnet14, but model.arch is resnet8"},
      // One model: nothing to average over seeds.
      {" --checkpoint " + model + " score.method=el2n score.models=3", "score.models: score.checkpoint is one model"},
      {" --checkpoint " + model + " score.method=el2n score.save_models=true", "score.save_models: with score.checkpoint"},
      {" score.checkpoint=" + model + " score.method=el2n data.synthetic.classes=5",
       "score.checkpoint '" + model + "': a resnet14 for 1 input channels and 4 classes; dataset synthetic has 1 and 5"},
      {" --checkpoint " + model + " score.method=el2n model.init=" + model, "model.init: score.checkpoint is the model to score"},
  };
  int k = 0;
  for (const Bad& b : bad) {
    const std::string name = "bad" + std::to_string(k++);
    auto r = run("score" + data(d, name) + b.args);
    expect_one_line_error(r, b.needle);
    EXPECT_FALSE(fs::exists(d.path() + "/" + name)) << b.args;
  }
}

TEST(ScoreCheckpoint, HelpNamesTheOption) {
  auto r = run("score --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--checkpoint"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("el2n, grand (both score.scope) and moderate"), std::string::npos) << r.out;
}
