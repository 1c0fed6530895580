// The bad-input campaign's cases (issue #18) through the built binary: every one ends in one
// "kdprune: error:" line naming the file or key, a non-zero exit, no stack trace, no temporary
// file and no run directory that would block a rerun.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "run_cli.h"
#include "test_files.h"

namespace fs = std::filesystem;
using kdprune::test::read_bytes;
using kdprune::test::expect_one_line_error;
using kdprune::test::Result;
using kdprune::test::run;
using kdprune::test::TempDir;
using kdprune::test::write_bytes;

namespace {

std::string tiny(const TempDir& d, const std::string& name, int classes = 4) {
  return "run.root=" + d.path() + " run.name=" + name +
         " data.name=synthetic data.synthetic.train_size=64 data.synthetic.test_size=32"
         " data.synthetic.channels=1 data.synthetic.height=8 data.synthetic.width=8 data.synthetic.classes=" +
         std::to_string(classes) + " model.arch=resnet8 train.epochs=2 train.batch_size=16 train.schedule=constant run.threads=1";
}

// A shell line (for ulimit), stdout and stderr together.
Result shell(const std::string& line) {
  const std::string cmd = "bash -c '" + line + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

bool has_temp_files(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return false;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) return true;
  return false;
}

bool wait_for(const std::string& path, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (fs::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

TEST(BadInput, FullDiskIsOneLineAndLeavesNoTemporaries) {
  TempDir d;
  // A file-size limit makes writes fail as a full disk does (SIGXFSZ ignored: write returns an error).
  const std::string bin = KDPRUNE_BIN;
  const Result ckpt = shell("trap \"\" XFSZ; ulimit -f 100; exec " + bin + " train-teacher " + tiny(d, "full"));
  // best.pt (first evaluation) or checkpoint.pt, whichever crosses the limit first
  expect_one_line_error(ckpt, "cannot write '" + d.path() + "/full/");
  EXPECT_NE(ckpt.out.find(".pt': write failed: File too large"), std::string::npos) << ckpt.out;
  EXPECT_FALSE(has_temp_files(d.path()));
  // config.yaml itself cannot be written: the failed start leaves no directory behind ...
  const Result cfg = shell("trap \"\" XFSZ; ulimit -f 1; exec " + bin + " train-teacher " + tiny(d, "cfg"));
  expect_one_line_error(cfg, "cannot write '" + d.path() + "/cfg/config.yaml'");
  EXPECT_FALSE(fs::exists(d.file("cfg")));
  // ... so the rerun needs no --force.
  const Result again = run("train-teacher " + tiny(d, "cfg"));
  EXPECT_EQ(again.code, 0) << again.out;
}

TEST(BadInput, ConcurrentStartsOnOneRunAreRefused) {
  TempDir d;
  // A first run long enough to be caught in the middle.
  const std::string slow = tiny(d, "busy") + " data.synthetic.train_size=3000 data.synthetic.height=16 data.synthetic.width=16 train.epochs=4";
  const std::string bin = KDPRUNE_BIN;
  const std::string log = d.file("first.log");
  ASSERT_EQ(std::system((bin + " train-teacher " + slow + " > " + log + " 2>&1 & echo $! > " + d.file("pid")).c_str()), 0);
  ASSERT_TRUE(wait_for(d.file("busy/log.txt"), 60)) << read_bytes(log);
  const Result forced = run("train-teacher " + slow + " --force");
  expect_one_line_error(forced, "run '" + d.path() + "/busy' is in use by another kdprune process (pid ");
  const Result resumed = run("train-teacher " + slow + " --resume");
  expect_one_line_error(resumed, "is in use by another kdprune process");
  // The first run was not disturbed: it finishes with its own config.
  ASSERT_TRUE(wait_for(d.file("busy/summary.json"), 300)) << read_bytes(log);
  EXPECT_NE(read_bytes(d.file("busy/config.yaml")).find("train_size: 3000"), std::string::npos);
  EXPECT_EQ(read_bytes(log).find("error"), std::string::npos) << read_bytes(log);
}

TEST(BadInput, CheckpointsAndModelFilesOfTheWrongKind) {
  TempDir d;
  ASSERT_EQ(run("train-teacher " + tiny(d, "four")).code, 0);
  ASSERT_EQ(run("train-teacher " + tiny(d, "ten", 10)).code, 0);
  // Another run's checkpoint (4 classes) under a 10-class run, then --resume.
  fs::remove(d.file("ten/summary.json"));
  fs::copy_file(d.file("four/checkpoint.pt"), d.file("ten/checkpoint.pt"), fs::copy_options::overwrite_existing);
  expect_one_line_error(run("train-teacher " + tiny(d, "ten", 10) + " --resume"),
                        "checkpoint '" + d.path() + "/ten/checkpoint.pt': 'fc.weight' has shape [4, 64] in the file, but "
                        "this run's model needs [10, 64]");
  fs::copy_file(d.file("four/model.pt"), d.file("ten/checkpoint.pt"), fs::copy_options::overwrite_existing);
  expect_one_line_error(run("train-teacher " + tiny(d, "ten", 10) + " --resume"), "this is a model.pt");
  expect_one_line_error(run("eval --checkpoint " + d.file("four/checkpoint.pt") + " " + tiny(d, "e")),
                        "this is a checkpoint.pt: give the run's model.pt");
  // A 1-channel model for D2's graph on 3-channel data.
  expect_one_line_error(run("eval --checkpoint " + d.file("four/model.pt") + " " + tiny(d, "e") + " data.synthetic.channels=3"),
                        "model.pt");
  // A flipped byte in a tensor record; a truncated file.
  std::string bytes = read_bytes(d.file("four/model.pt"));
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  write_bytes(d.file("flipped.pt"), bytes);
  expect_one_line_error(run("eval --checkpoint " + d.file("flipped.pt") + " " + tiny(d, "e")), "is corrupt (CRC-32 mismatch");
  write_bytes(d.file("cut.pt"), read_bytes(d.file("four/model.pt")).substr(0, 3000));
  expect_one_line_error(run("eval --checkpoint " + d.file("cut.pt") + " " + tiny(d, "e")), "cut.pt");
  expect_one_line_error(run("eval --checkpoint " + d.file("exp.yaml") + " " + tiny(d, "e")), "not found");
}

TEST(BadInput, NonFiniteLossSaysWhichCheckpointExists) {
  TempDir d;
  const Result r = run("train-teacher " + tiny(d, "boom") + " train.lr=1e30 train.momentum=0");
  expect_one_line_error(r, "non-finite training loss at epoch 1");
  EXPECT_NE(r.out.find("no checkpoint was written yet"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("the last good checkpoint"), std::string::npos) << r.out;
}

TEST(BadInput, SizesAndNamesBeyondLimits) {
  TempDir d;
  expect_one_line_error(run("train-teacher " + tiny(d, "huge") + " data.synthetic.train_size=99999999999999"),
                        "data.synthetic: 99999999999999 + 32 images");
  expect_one_line_error(run("train-teacher " + tiny(d, "wide") + " data.synthetic.height=100000 data.synthetic.width=100000"),
                        "more than this machine's");
  expect_one_line_error(run("train-teacher " + tiny(d, std::string(300, 'n'))), "run.name: expected a directory name of at most 240");
  write_bytes(d.file("notadir"), "x");
  expect_one_line_error(run("train-teacher " + tiny(d, "x") + " run.root=" + d.file("notadir/runs")), "notadir/runs");
  EXPECT_TRUE(fs::is_empty(d.path()) || !fs::exists(d.file("huge")));
}

TEST(BadInput, NonFiniteValuesAndUnknownCommands) {
  TempDir d;
  for (const char* o : {"train.lr=.inf", "train.weight_decay=.inf", "kd.tau=.inf", "kd.alpha=.nan", "data.synthetic.noise=.inf"})
    expect_one_line_error(run("config " + tiny(d, "x") + " " + o), std::string("override '") + o + "': expected a finite number");
  expect_one_line_error(run("frobnicate"), "unknown command 'frobnicate' (expected one of: info, train-teacher");
  // Flags that would do nothing are not accepted.
  for (const char* cmd : {"info --force", "config --resume", "eval --force"}) EXPECT_NE(run(cmd).code, 0) << cmd;
}

TEST(BadInput, RunValidatesEveryStageBeforeRunningAny) {
  TempDir d;
  const std::string exp = d.file("exp.yaml");
  write_bytes(exp, "run: {root: " + d.path() + ", name: exp, threads: 1}\n"
                   "data: {name: synthetic, synthetic: {train_size: 64, test_size: 32, channels: 1, height: 8, width: 8, classes: 4}}\n"
                   "model: {arch: resnet8}\ntrain: {epochs: 1, batch_size: 16}\n"
                   "experiment:\n  teacher_archs: [resnet8, resnet9000]\n  fractions: [0.5]\n  alphas: [0, 0.5]\n");
  for (const char* flag : {"--dry-run", ""}) {
    expect_one_line_error(run(std::string("run --config ") + exp + " " + flag),
                          "stage teacher-resnet9000: model.arch: unknown name 'resnet9000'");
    EXPECT_FALSE(fs::exists(d.file("exp"))) << "nothing runs or is written before every stage is valid";
  }
  expect_one_line_error(run("run --config " + exp + " experiment.teacher_archs=[resnet8] experiment.alphas=[.nan] --dry-run"),
                        "override 'experiment.alphas=[.nan]': alpha .nan is not a valid kd.alpha (");
  expect_one_line_error(run("run --config " + exp + " experiment.teacher_archs=[resnet8] \'experiment.student={kd.loss: kl}\' --dry-run"),
                        "kd.loss: unknown name 'kl'");
  // A checkpoint to score in the base, and a pruner that needs its model's training run: refused
  // before the teacher trains, naming the score stage.
  expect_one_line_error(run("run --config " + exp + " experiment.teacher_archs=[resnet8] experiment.pruners=[forgetting] " +
                            "score.checkpoint=" + d.file("model.pt")),
                        "stage score-forgetting: score.checkpoint: forgetting is not a function of one model");
  EXPECT_FALSE(fs::exists(d.file("exp/teacher-resnet8"))) << "no stage ran";
}
