// The CLI end to end through the built binary: exit codes, messages, run directories.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <sys/wait.h>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>

#include "run_cli.h"
#include "test_files.h"

namespace fs = std::filesystem;
using kdprune::test::read_bytes;
using kdprune::test::Result;
using kdprune::test::run;
using kdprune::test::TempDir;
using kdprune::test::write_bytes;

namespace {

// A tiny, fast training setup on synthetic data.
std::string tiny(const TempDir& d, const std::string& name) {
  return "run.root=" + d.path() + " run.name=" + name +
         " data.name=synthetic data.synthetic.train_size=64 data.synthetic.test_size=32"
         " data.synthetic.channels=1 data.synthetic.height=8 data.synthetic.width=8 data.synthetic.classes=4"
         " model.arch=resnet8 train.epochs=2 train.batch_size=16 train.schedule=constant run.threads=1";
}
}  // namespace

TEST(Cli, HelpAndVersion) {
  auto h = run("--help");
  EXPECT_EQ(h.code, 0);
  for (const char* sub : {"train-teacher", "distill", "score", "prune", "eval", "info", "samples", "theory"})
    EXPECT_NE(h.out.find(sub), std::string::npos) << sub;
  for (const char* sub : {"", "train-teacher", "distill", "score", "prune", "eval", "info", "config", "run", "results",
                          "samples", "theory"}) {
    auto help = run(std::string(sub) + " --help");
    EXPECT_NE(help.out.find("Examples:\n  kdprune " + std::string(sub)), std::string::npos) << sub << ":\n" << help.out;
    EXPECT_NE(help.out.find("Docs: "), std::string::npos) << sub;
  }
  auto v = run("--version");
  EXPECT_EQ(v.code, 0);
  EXPECT_NE(v.out.find("kdprune 0."), std::string::npos) << v.out;
}

TEST(Cli, NoSubcommandIsAnError) { EXPECT_NE(run("").code, 0); }

TEST(Cli, ScoreWritesScoresThatPruneReads) {
  TempDir d;
  for (const char* method : {"forgetting", "el2n", "grand", "moderate"}) {
    auto r = run("score " + tiny(d, std::string("score-") + method) + " score.method=" + method + " score.epochs=2");
    ASSERT_EQ(r.code, 0) << method << ": " << r.out;
    const std::string dir = d.path() + "/score-" + method;
    auto info = nlohmann::json::parse(read_bytes(dir + "/scores.json"));
    EXPECT_EQ(info["method"], method);
    EXPECT_EQ(info["N"], 64);
    const std::string csv = read_bytes(dir + "/scores.csv");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 65);
    auto p = run("prune --scores " + dir + "/scores.npy " + tiny(d, std::string("prune-") + method) + " prune.fraction=0.5");
    ASSERT_EQ(p.code, 0) << p.out;
  }
  auto bad = run("score " + tiny(d, "score-bad") + " score.method=infl");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("forgetting, el2n, grand, moderate, dual, aum, memorization"), std::string::npos) << bad.out;
}

TEST(Cli, InfoListsRegistries) {
  auto r = run("info");
  EXPECT_EQ(r.code, 0) << r.out;
  for (const char* s : {"LibTorch", "CUDA", "fashion-mnist", "cifar100", "svhn", "synthetic", "resnet32x4", "pruners", "KD losses",
                        "precision (train.amp=auto): cpu "})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " in\n" << r.out;
}

TEST(Cli, InfoDatasetPrintsHistogram) {
  auto r = run("info --dataset synthetic data.synthetic.classes=3 data.synthetic.train_size=30");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("train 30, test 200"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("class2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("normalisation mean"), std::string::npos) << r.out;
  auto bad = run("info --dataset cifar10 data.root=/nonexistent");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("kdprune: error: CIFAR-10 not found: no folder holds the binary version"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("looked in /nonexistent, /nonexistent/cifar-10-batches-bin"), std::string::npos) << bad.out;
  // Without data.root the default folder is relative: the message says so and lists it absolute.
  TempDir cwd;
  auto rel = run("info --dataset cifar100", cwd.path());
  EXPECT_EQ(rel.code, 1);
  EXPECT_NE(rel.out.find("looked in " + cwd.path() + "/data/cifar100, " + cwd.path() + "/data/cifar100/cifar-100-binary, " +
                         cwd.path() + "/data/cifar100/cifar-100-python (data.root is not set: its default data/cifar100 is "
                         "relative to the current directory)"),
            std::string::npos) << rel.out;
}

TEST(Cli, ConfigErrorsAreOneLineAndWriteNothing) {
  TempDir d;
  write_bytes(d.file("c.yaml"), "train:\n  epochs: -3\n");
  auto r = run("train-teacher --config " + d.file("c.yaml") + " run.root=" + d.path() + "/runs");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("kdprune: error: " + d.file("c.yaml") + ": train.epochs: expected an integer >= 0, got '-3'"),
            std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(d.path() + "/runs")) << "no run directory for a bad config";
  auto u = run("train-teacher data.fractoin=0.5 run.root=" + d.path() + "/runs");
  EXPECT_EQ(u.code, 1);
  EXPECT_NE(u.out.find("override 'data.fractoin=0.5': unknown key"), std::string::npos) << u.out;
  auto m = run("train-teacher --config " + d.file("missing.yaml"));
  EXPECT_NE(m.code, 0);
  EXPECT_NE(m.out.find("missing.yaml"), std::string::npos) << m.out;
}

TEST(Cli, TrainTeacherWritesRunDirectoryThenEval) {
  TempDir d;
  auto r = run("train-teacher " + tiny(d, "t1"));
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string dir = d.path() + "/t1";
  for (const char* f : {"config.yaml", "log.txt", "metrics.csv", "summary.json", "model.pt", "forgetting_scores.npy"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  for (auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << "leftover " << e.path();
  auto summary = nlohmann::json::parse(read_bytes(dir + "/summary.json"));
  EXPECT_EQ(summary["arch"], "resnet8");
  EXPECT_EQ(summary["subset_size"], 64);
  EXPECT_EQ(summary["epochs"], 2);
  EXPECT_EQ(read_bytes(dir + "/forgetting_scores.npy").size(), 128u + 64 * 4) << "one float32 score per sample";
  EXPECT_TRUE(summary["top1"].is_number());
  const std::string metrics = read_bytes(dir + "/metrics.csv");
  EXPECT_EQ(metrics.rfind("epoch,lr,train_loss,train_acc,test_loss,test_top1,test_top5,images_per_s,seconds\n", 0), 0u);
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 3);
  EXPECT_NE(read_bytes(dir + "/config.yaml").find("epochs: 2"), std::string::npos);
  EXPECT_NE(read_bytes(dir + "/log.txt").find("epoch 2/2"), std::string::npos);

  // Reusing the name is refused; --force overwrites.
  auto again = run("train-teacher " + tiny(d, "t1"));
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.out.find("already exists"), std::string::npos) << again.out;

  auto ev = run("eval --checkpoint " + dir + "/model.pt " + tiny(d, "unused"));
  ASSERT_EQ(ev.code, 0) << ev.out;
  EXPECT_NE(ev.out.find("resnet8 on synthetic: top1"), std::string::npos) << ev.out;
  auto es = nlohmann::json::parse(read_bytes(dir + "/eval.json"));
  EXPECT_DOUBLE_EQ(es["top1"].get<double>(), summary["top1"].get<double>()) << "eval reproduces the final test accuracy";
  // best.pt holds the best evaluated epoch's model: eval on it gives best_top1.
  ASSERT_EQ(summary["best_model_file"], dir + "/best.pt");
  auto best = run("eval --checkpoint " + dir + "/best.pt " + tiny(d, "unused") + " --out " + d.file("best.json"));
  ASSERT_EQ(best.code, 0) << best.out;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(read_bytes(d.file("best.json")))["top1"].get<double>(),
                   summary["best_top1"].get<double>());
  EXPECT_EQ(es["per_class_top1"].size(), 4u);
  EXPECT_EQ(es["test_size"], 32);

  // The dataset comes from the checkpoint: a mismatching one is refused, nothing written.
  auto wrong = run("eval --checkpoint " + dir + "/model.pt data.name=fashion-mnist --out " + d.file("x.json"));
  EXPECT_EQ(wrong.code, 1);
  EXPECT_NE(wrong.out.find("holds a resnet8 for 1 input channels and 4 classes"), std::string::npos) << wrong.out;
  EXPECT_FALSE(fs::exists(d.file("x.json")));
  auto missing = run("eval --checkpoint " + d.file("nope.pt"));
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("nope.pt"), std::string::npos) << missing.out;
}

TEST(Cli, ShippedTeacherConfigParses) {
  TempDir d;
  auto r = run("train-teacher --config " KDPRUNE_SOURCE_DIR "/configs/fashion_mnist/teacher.yaml "
               "train.epochs=1 data.fraction=0.01 run.root=" + d.path() + " run.name=c");
  EXPECT_EQ(r.code, 0) << r.out;
}

TEST(Cli, ConfigPrintsResolvedYaml) {
  TempDir d;
  write_bytes(d.file("c.yaml"), "train:\n  epochs: 7\n");
  auto r = run("config --config " + d.file("c.yaml") + " 'train.milestones=[2,5]' kd.tau=2");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("epochs: 7"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("milestones: [2, 5]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tau: 2.0"), std::string::npos) << r.out;
  EXPECT_EQ(run("config train.lr=fast").code, 1);
}

TEST(Cli, DistillEndToEndWithScheduleAndTeacherChecks) {
  TempDir d;
  ASSERT_EQ(run("train-teacher " + tiny(d, "teacher")).code, 0);
  const std::string teacher = d.path() + "/teacher/model.pt";
  auto r = run("distill " + tiny(d, "student") + " kd.teacher=" + teacher +
               " prune.method=class_balanced_random prune.fraction=0.5 kd.alpha.schedule=linear "
               "'kd.alpha.at_f=[0.1,0.7]' 'kd.alpha.value=[1.0,0.5]'");
  ASSERT_EQ(r.code, 0) << r.out;
  auto s = nlohmann::json::parse(read_bytes(d.path() + "/student/summary.json"));
  for (const char* k : {"f", "subset_size", "alpha", "tau", "teacher_arch", "teacher_top1", "top1", "best_top1"})
    EXPECT_TRUE(s.contains(k)) << k;
  EXPECT_DOUBLE_EQ(s["f"].get<double>(), 0.5);
  EXPECT_EQ(s["subset_size"], 32);
  EXPECT_NEAR(s["alpha"].get<double>(), 1.0 - 0.5 * (0.4 / 0.6), 1e-12) << "alpha(f) on the linear schedule";
  EXPECT_DOUBLE_EQ(s["tau"].get<double>(), 4.0);
  EXPECT_EQ(s["teacher_arch"], "resnet8");
  EXPECT_TRUE(fs::exists(d.path() + "/student/model.pt"));
  EXPECT_NE(read_bytes(d.path() + "/student/config.yaml").find("schedule: linear"), std::string::npos);

  // alpha = 0 is plain training: a kd.teacher is neither needed nor loaded (this one does not exist)
  auto plain = run("distill " + tiny(d, "plain") + " kd.alpha=0 prune.fraction=0.5 kd.teacher=" + d.file("none.pt"));
  ASSERT_EQ(plain.code, 0) << plain.out;
  EXPECT_NE(plain.out.find("not loaded: alpha = 0"), std::string::npos) << plain.out;
  EXPECT_TRUE(nlohmann::json::parse(read_bytes(d.path() + "/plain/summary.json"))["teacher_arch"].is_null());

  // mismatches are refused before a run directory exists
  auto no_teacher = run("distill " + tiny(d, "x1") + " kd.alpha=0.5");
  EXPECT_EQ(no_teacher.code, 1);
  EXPECT_NE(no_teacher.out.find("kd.teacher"), std::string::npos) << no_teacher.out;
  auto classes = run("distill " + tiny(d, "x2") + " data.synthetic.classes=3 kd.teacher=" + teacher);
  EXPECT_EQ(classes.code, 1);
  EXPECT_NE(classes.out.find("4 classes; dataset synthetic has 1 and 3"), std::string::npos) << classes.out;
  auto missing = run("distill " + tiny(d, "x3") + " kd.teacher=" + d.file("none.pt"));
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("none.pt"), std::string::npos) << missing.out;
  for (const char* name : {"x1", "x2", "x3"}) EXPECT_FALSE(fs::exists(d.path() + "/" + name)) << name;
}

TEST(Cli, EveryShippedConfigValidates) {
  int checked = 0;
  for (const auto& e : fs::recursive_directory_iterator(KDPRUNE_SOURCE_DIR "/configs")) {
    if (e.path().extension() != ".yaml") continue;
    // Experiment files (kdprune run) validate through their plan; the others as one config.
    const bool experiment = read_bytes(e.path().string()).find("\nexperiment:") != std::string::npos;
    auto r = run((experiment ? "run --dry-run --config " : "config --config ") + e.path().string());
    EXPECT_EQ(r.code, 0) << e.path() << ": " << r.out;
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

TEST(Cli, PruneByScoresIsDeterministicAndFeedsDistill) {
  TempDir d;
  // scores for the 64 synthetic training samples: score = index, so `hard` keeps the top indices
  std::string csv = "index,label,score\n";
  for (int i = 63; i >= 0; --i) csv += std::to_string(i) + ",0," + std::to_string(i) + "\n";
  write_bytes(d.file("scores.csv"), csv);
  const std::string data = " data.name=synthetic data.synthetic.train_size=64 data.synthetic.test_size=32"
                           " data.synthetic.channels=1 data.synthetic.height=8 data.synthetic.width=8 data.synthetic.classes=4";
  auto a = run("prune --scores " + d.file("scores.csv") + data + " prune.fraction=0.25 run.root=" + d.path() + " run.name=pa");
  ASSERT_EQ(a.code, 0) << a.out;
  auto b = run("prune --scores " + d.file("scores.csv") + data + " prune.fraction=0.25 run.root=" + d.path() + " run.name=pb");
  ASSERT_EQ(b.code, 0) << b.out;
  EXPECT_EQ(read_bytes(d.path() + "/pa/subset.npy"), read_bytes(d.path() + "/pb/subset.npy")) << "byte for byte";
  auto info = nlohmann::json::parse(read_bytes(d.path() + "/pa/subset.json"));
  EXPECT_EQ(info["subset_size"], 16);
  EXPECT_EQ(info["level"], "hard");
  EXPECT_EQ(info["per_class"].size(), 4u);
  auto easy = run("prune --scores " + d.file("scores.csv") + data + " prune.fraction=0.25 prune.level=easy run.root=" +
                  d.path() + " run.name=pe");
  ASSERT_EQ(easy.code, 0) << easy.out;
  auto r = run("train-teacher " + tiny(d, "on-subset") + " data.subset=" + d.path() + "/pa/subset.npy");
  ASSERT_EQ(r.code, 0) << r.out;
  auto s = nlohmann::json::parse(read_bytes(d.path() + "/on-subset/summary.json"));
  EXPECT_EQ(s["subset_size"], 16);
  EXPECT_DOUBLE_EQ(s["f"].get<double>(), 0.25);
  auto bad = run("prune --scores " + d.file("scores.csv") + " data.name=synthetic prune.fraction=0.5 run.root=" + d.path() +
                 " run.name=pbad");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("64 scores for a training set of 1000"), std::string::npos) << bad.out;
  auto needs = run("prune prune.method=el2n prune.fraction=0.5 " + data + " run.root=" + d.path() + " run.name=pn");
  EXPECT_EQ(needs.code, 1);
  EXPECT_NE(needs.out.find("needs scores"), std::string::npos) << needs.out;
}

// --alphas: the students train together (one batch and one teacher forward per step) and each
// ends exactly where it ends alone.
TEST(Cli, DistillAlphasTrainTogetherAsAlone) {
  TempDir d;
  ASSERT_EQ(run("train-teacher " + tiny(d, "teacher")).code, 0);
  const std::string teacher = " kd.teacher=" + d.path() + "/teacher/model.pt prune.fraction=0.5";
  auto group = run("distill " + tiny(d, "grp") + teacher + " --alphas 0,0.5,0.9");
  ASSERT_EQ(group.code, 0) << group.out;
  EXPECT_NE(group.out.find("3 students train together"), std::string::npos) << group.out;
  EXPECT_NE(group.out.find("forwards, shared"), std::string::npos) << group.out;
  for (const char* a : {"0", "0.5", "0.9"}) {
    const auto s = nlohmann::json::parse(read_bytes(d.path() + "/grp-alpha" + a + "/summary.json"));
    EXPECT_DOUBLE_EQ(s["alpha"].get<double>(), std::stod(a));
    EXPECT_TRUE(fs::exists(d.path() + "/grp-alpha" + std::string(a) + "/model.pt"));
  }
  auto solo = run("distill " + tiny(d, "solo") + teacher + " kd.alpha=0.5");
  ASSERT_EQ(solo.code, 0) << solo.out;
  const auto a = nlohmann::json::parse(read_bytes(d.path() + "/grp-alpha0.5/summary.json"));
  const auto b = nlohmann::json::parse(read_bytes(d.path() + "/solo/summary.json"));
  EXPECT_DOUBLE_EQ(a["top1"].get<double>(), b["top1"].get<double>());
  // The train losses per epoch are the same (column 3 of metrics.csv; images/s and seconds differ).
  auto losses = [&](const std::string& run_name) {
    std::istringstream in(read_bytes(d.path() + "/" + run_name + "/metrics.csv"));
    std::string line, out;
    std::getline(in, line);
    while (std::getline(in, line)) {
      std::istringstream row(line);
      std::string f;
      for (int i = 0; i < 3; ++i) std::getline(row, f, ',');
      out += f + ";";
    }
    return out;
  };
  EXPECT_EQ(losses("grp-alpha0.5"), losses("solo"));
  // --alphas with a bad value is refused before any run directory exists.
  auto bad = run("distill " + tiny(d, "bad") + teacher + " --alphas 0.5,-1");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("--alphas"), std::string::npos) << bad.out;
  EXPECT_FALSE(fs::exists(d.path() + "/bad-alpha0.5"));
  // A student that fails its checks (here: no teacher for alpha > 0) leaves no run directory of
  // the group behind.
  auto half = run("distill " + tiny(d, "half") + " prune.fraction=0.5 --alphas 0,0.5");
  EXPECT_NE(half.code, 0);
  EXPECT_NE(half.out.find("kd.teacher"), std::string::npos) << half.out;
  EXPECT_FALSE(fs::exists(d.path() + "/half-alpha0"));
  // train.group_max: a memory budget too small for one student is one line naming the budget,
  // before any run directory exists.
  auto tight = run("distill " + tiny(d, "tight") + teacher + " train.group_max=64KiB --alphas 0,0.5");
  EXPECT_NE(tight.code, 0);
  EXPECT_NE(tight.out.find("train.group_max=64KiB: one student needs about"), std::string::npos) << tight.out;
  EXPECT_FALSE(fs::exists(d.path() + "/tight-alpha0"));
  auto twice = run("distill " + tiny(d, "twice") + teacher + " --alphas 0.5,0.50");
  EXPECT_NE(twice.code, 0);
  EXPECT_NE(twice.out.find("are the same alpha"), std::string::npos) << twice.out;
  auto unnamed = run("distill --resume " + tiny(d, "") + teacher + " --alphas 0.5");
  EXPECT_NE(unnamed.code, 0);
  EXPECT_NE(unnamed.out.find("--resume needs run.name"), std::string::npos) << unnamed.out;
}
