// Training from a streamed image folder (data.imagefolder.stream) through the binary: decoded per
// batch with RandomResizedCrop + flip, evaluated with Resize + CenterCrop, a broken file skipped
// within max_bad, samples.txt written, and the same seed giving the same run (the views do not
// depend on the decoding threads).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "run_cli.h"
#include "test_files.h"

namespace fs = std::filesystem;
using kdprune::test::read_bytes;
using kdprune::test::TempDir;

TEST(CliImageStream, TrainsFromFilesDecodedPerBatch) {
  TempDir d;
  const std::string make = std::string(KDPRUNE_PYTHON) + " " + KDPRUNE_SOURCE_DIR + "/tests/python/make_image_folder.py " +
                           d.file("folder") + " 16";
  ASSERT_EQ(std::system(make.c_str()), 0) << make;
  const auto args = [&](const std::string& name, int threads) {
    return "train-teacher run.root=" + d.path() + " run.name=" + name + " data.name=imagefolder data.root=" + d.file("folder") +
           " data.imagefolder.stream=true data.imagefolder.size=16 data.imagefolder.max_bad=1 data.imagefolder.threads=" +
           std::to_string(threads) + " model.arch=resnet8 train.epochs=2 train.batch_size=3 train.schedule=constant run.threads=1";
  };
  const auto r = kdprune::test::run(args("a", 1));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("decoded per batch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("RandomResizedCrop(16) + flip, evaluation Resize(18) + CenterCrop(16)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("skipped '" + d.file("folder/train/c_dog/broken.jpg") + "': truncated JPEG"), std::string::npos) << r.out;
  const auto s = nlohmann::json::parse(read_bytes(d.file("a/summary.json")));
  EXPECT_EQ(s["epochs"], 2);
  EXPECT_EQ(s["train_size"], 8);
  const std::string samples = read_bytes(d.file("a/samples.txt"));
  EXPECT_EQ(std::count(samples.begin(), samples.end(), '\n'), 9) << samples;
  // Another run, decoding on 3 threads: the same views, so the same model.
  ASSERT_EQ(kdprune::test::run(args("b", 3)).code, 0);
  const auto s2 = nlohmann::json::parse(read_bytes(d.file("b/summary.json")));
  EXPECT_EQ(s["test_loss"], s2["test_loss"]);
  EXPECT_EQ(s["top1"], s2["top1"]);
  // Too many broken files: the run stops naming the file, with no model written.
  const auto bad = kdprune::test::run(args("c", 1) + " data.imagefolder.max_bad=0");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("images failed to decode so far (data.imagefolder.max_bad = 0)"), std::string::npos) << bad.out;
  EXPECT_FALSE(fs::exists(d.file("c/model.pt")));
}

TEST(CliImageStream, DataParallelRanksDecodeTheirParts) {
  if (kdprune::test::run("info").out.find("data-parallel: gloo") == std::string::npos) GTEST_SKIP() << "built without c10d Gloo";
  TempDir d;
  const std::string make = std::string(KDPRUNE_PYTHON) + " " + KDPRUNE_SOURCE_DIR + "/tests/python/make_image_folder.py " +
                           d.file("folder") + " 16";
  ASSERT_EQ(std::system(make.c_str()), 0) << make;
  const std::string cmd = "KDPRUNE=" + std::string(KDPRUNE_BIN) + " MASTER_PORT=" + std::to_string(20000 + getpid() % 30000) +
                          " bash " KDPRUNE_SOURCE_DIR "/scripts/launch_local.sh 2 train-teacher run.root=" + d.path() +
                          " run.name=ddp data.name=imagefolder data.root=" + d.file("folder") +
                          " data.imagefolder.stream=true data.imagefolder.size=16 data.imagefolder.max_bad=1 model.arch=resnet8"
                          " train.epochs=1 train.batch_size=2 train.sync_batchnorm=true run.threads=1 2>&1";
  const int code = std::system(cmd.c_str());
  EXPECT_EQ(code, 0) << cmd;
  EXPECT_TRUE(fs::exists(d.file("ddp/model.pt")));
  const std::string log1 = read_bytes(d.file("ddp/log.rank1.txt"));
  EXPECT_NE(log1.find("BatchNorm statistics over all ranks"), std::string::npos) << log1;
  EXPECT_NE(log1.find("rank 1 of 2, 2 samples per rank per step"), std::string::npos) << log1;
}
