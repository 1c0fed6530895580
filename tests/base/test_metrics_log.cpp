// metrics.csv, metrics.jsonl and TensorBoard events from one append, checked against TensorBoard's
// own reader (the project virtualenv's tensorboard package) and a published CRC-32C check value.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "kdprune/io/metrics_log.h"
#include "kdprune/io/tensorboard.h"
#include "test_files.h"

using namespace kdprune;
using kdprune::test::TempDir;

namespace {
std::string command_output(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  EXPECT_EQ(pclose(p), 0) << cmd << "\n" << out;
  return out;
}
std::string tensorboard_scalars(const std::string& dir) {
  return command_output(std::string(KDPRUNE_PYTHON) + " " + KDPRUNE_SOURCE_DIR + "/tests/python/read_tensorboard.py " +
                        dir + " 2>&1");
}
}  // namespace

TEST(Tensorboard, Crc32cCheckValue) {
  EXPECT_EQ(io::crc32c("123456789", 9), 0xE3069283u);  // the CRC-32C catalogue's check value
  EXPECT_EQ(io::crc32c("", 0), 0u);
}

TEST(Tensorboard, MetricsInThreeFormsAndAResumeReplacesLaterPoints) {
  TempDir d;
  const std::vector<std::string> cols = {"epoch", "lr", "train_loss", "test_top1"};
  {
    io::MetricsLog m(d.path(), cols, 0);
    m.append({"1", "0.1", "2.5", ""});  // test metrics not evaluated at epoch 1
    m.append({"2", "0.1", "2", "40.5"});
    m.append({"3", "0.01", "1.5", "45"});  // the run is "killed" after epoch 3; the checkpoint had 2
  }
  {
    io::MetricsLog resumed(d.path(), cols, 2);
    resumed.append({"3", "0.01", "1.25", "50"});
  }
  EXPECT_EQ(test::read_bytes(d.file("metrics.csv")), "epoch,lr,train_loss,test_top1\n1,0.1,2.5,\n2,0.1,2,40.5\n3,0.01,1.25,50\n");
  std::istringstream jsonl(test::read_bytes(d.file("metrics.jsonl")));
  std::vector<nlohmann::json> lines;
  for (std::string l; std::getline(jsonl, l);) lines.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(lines[0]["test_top1"].is_null());
  EXPECT_EQ(lines[2]["epoch"], 3);
  EXPECT_DOUBLE_EQ(lines[2]["train_loss"].get<double>(), 1.25);
  // TensorBoard: two event files; the resumed one's START drops the first file's epoch-3 points.
  const std::string tb = tensorboard_scalars(d.path());
  EXPECT_NE(tb.find("lr 1 0.10000000149011612\nlr 2 0.10000000149011612\nlr 3 0.009999999776482582\n"), std::string::npos) << tb;
  EXPECT_NE(tb.find("test/top1 2 40.5\ntest/top1 3 50.0\n"), std::string::npos) << tb;
  EXPECT_NE(tb.find("train/loss 3 1.25\n"), std::string::npos) << tb;
  EXPECT_EQ(tb.find("train/loss 3 1.5"), std::string::npos) << "the killed run's epoch 3 was purged: " << tb;
  EXPECT_EQ(tb.find("test/top1 1"), std::string::npos) << tb;
}
