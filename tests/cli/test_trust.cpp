// Issue #37 through the built binary: a finished stage survives changes that do not change it
// (threads, the same folder spelled otherwise, a moved experiment) and is never rerun by surprise
// (a real change is named and needs --rerun-changed; the old outputs stay until the new exist);
// damaged, missing and replaced outputs are found; the same config and seed give the same model
// beside a busy process, resumed or not.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include "run_cli.h"
#include "tiny_run.h"
#include "test_files.h"

namespace fs = std::filesystem;
using kdprune::test::read_bytes;
using kdprune::test::expect_one_line_error;
using kdprune::test::Result;
using kdprune::test::run;
using kdprune::test::TempDir;
using kdprune::test::write_bytes;

namespace {

// Teacher, one random subset, one KD student: three stages of a second or two each.
std::string experiment(const TempDir& d) {
  const std::string path = d.file("exp.yaml");
  write_bytes(path, "run: {root: " + d.path() + "/runs, name: exp, threads: 1}\n"
                    "data:\n  name: synthetic\n"
                    "  synthetic: {train_size: 128, test_size: 32, channels: 1, height: 8, width: 8, classes: 4}\n"
                    "model: {arch: resnet8}\n"
                    "train: {epochs: 1, batch_size: 32, lr: 0.05, schedule: constant}\n"
                    "experiment:\n"
                    "  teacher: {train.epochs: 1}\n"
                    "  fractions: [0.5]\n"
                    "  alphas: [0.5]\n");
  return path;
}

// Plan lines "action\tstage\treason".
std::vector<std::string> lines_of(const std::string& plan, const std::string& action) {
  std::vector<std::string> out;
  std::istringstream in(plan);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(action + "\t", 0) == 0) out.push_back(line);
  return out;
}

std::string flip_a_bit(const std::string& path, size_t from_end) {
  std::string bytes = read_bytes(path);
  bytes[bytes.size() - from_end] ^= 0x10;
  write_bytes(path, bytes);
  return bytes;
}

// A process that keeps one core busy until killed.
struct BusyCore {
  pid_t pid;
  BusyCore() : pid(fork()) {
    if (pid == 0) {
      for (volatile unsigned long i = 0;; i = i + 1) {
      }
    }
  }
  ~BusyCore() {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
};

std::string teacher_args(const TempDir& d, const std::string& name, int epochs) {
  // run.threads is left to the library default (both cores here): the case that followed the load.
  return "train-teacher run.root=" + d.path() + " run.name=" + name +
         " data.name=synthetic data.synthetic.train_size=768 data.synthetic.test_size=32"
         " data.synthetic.channels=1 data.synthetic.height=16 data.synthetic.width=16 data.synthetic.classes=4"
         " model.arch=resnet8 train.batch_size=32 train.schedule=constant train.checkpoint_every=1 train.epochs=" +
         std::to_string(epochs);
}

std::string tiny(const TempDir& d, const std::string& name) { return tiny_run(d, name); }

}  // namespace

TEST(Trust, FinishedStagesSurviveRunOnlyKeysAndPathSpellings) {
  TempDir d;
  const std::string exp = experiment(d);
  const Result first = run("run --config " + exp);
  ASSERT_EQ(first.code, 0) << first.out;
  const std::string model = read_bytes(d.path() + "/runs/exp/teacher-resnet8/model.pt");
  auto all_reused = [&](const std::string& args, const std::string& cwd = "") {
    const Result r = run("run --config " + exp + " --dry-run " + args, cwd);
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(lines_of(r.out, "reuse").size(), 3u) << args << "\n" << r.out;
  };
  all_reused("run.threads=2 run.log_level=warn train.eval_batch_size=16 train.checkpoint_every=3 train.group_max=1GiB");
  all_reused("run.root=runs", d.path());
  all_reused("run.root=./runs", d.path());
  all_reused("run.root=" + d.path() + "/runs/../runs");
  // The README's own extension, with threads changed: only the new students run.
  const Result more = run("run --config " + exp + " run.threads=2 'experiment.alphas=[0.5, 0.9]'");
  ASSERT_EQ(more.code, 0) << more.out;
  EXPECT_NE(more.out.find("1 stages run, 3 reused"), std::string::npos) << more.out;
  EXPECT_EQ(read_bytes(d.path() + "/runs/exp/teacher-resnet8/model.pt"), model);
  // The experiment folder moved elsewhere.
  fs::rename(d.path() + "/runs", d.path() + "/moved");
  const Result moved = run("run --config " + exp + " run.root=" + d.path() + "/moved 'experiment.alphas=[0.5, 0.9]'");
  ASSERT_EQ(moved.code, 0) << moved.out;
  EXPECT_NE(moved.out.find("0 stages run, 4 reused"), std::string::npos) << moved.out;
  // A real change after the move names that key alone (not the paths, which moved with it).
  const Result tau = run("run --config " + exp + " run.root=" + d.path() + "/moved 'experiment.student={kd.tau: 2}' --dry-run");
  ASSERT_EQ(tau.code, 0) << tau.out;
  const auto reruns = lines_of(tau.out, "rerun");
  ASSERT_EQ(reruns.size(), 1u) << tau.out;
  EXPECT_NE(reruns[0].find("\tchanged: kd.tau 4.0 -> 2.0 [needs --rerun-changed]"), std::string::npos) << tau.out;
}

TEST(Trust, ARealChangeIsNamedAndRefusedWithoutTheFlag) {
  TempDir d;
  const std::string exp = experiment(d);
  ASSERT_EQ(run("run --config " + exp).code, 0);
  const std::string teacher = d.path() + "/runs/exp/teacher-resnet8";
  const std::string model = read_bytes(teacher + "/model.pt");
  const std::string change = " 'experiment.teacher={train.epochs: 2}'";
  const Result dry = run("run --config " + exp + " --dry-run" + change);
  ASSERT_EQ(dry.code, 0) << dry.out;
  const auto reruns = lines_of(dry.out, "rerun");
  ASSERT_EQ(reruns.size(), 2u) << dry.out;  // the teacher, and the student that reads it
  EXPECT_NE(reruns[0].find("teacher-resnet8\tchanged: train.epochs 1 -> 2 [needs --rerun-changed]"), std::string::npos)
      << dry.out;
  EXPECT_NE(reruns[1].find("an input stage runs again"), std::string::npos) << dry.out;
  const Result refused = run("run --config " + exp + change);
  EXPECT_EQ(refused.code, 1) << refused.out;
  EXPECT_NE(refused.out.find("teacher-resnet8 (changed: train.epochs 1 -> 2)"), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find("--rerun-changed"), std::string::npos) << refused.out;
  EXPECT_EQ(read_bytes(teacher + "/model.pt"), model) << "the finished teacher was touched";
  EXPECT_EQ(refused.out.find("[1/3]"), std::string::npos) << "a stage started: " << refused.out;
  const Result rerun = run("run --config " + exp + change + " --rerun-changed");
  ASSERT_EQ(rerun.code, 0) << rerun.out;
  EXPECT_NE(rerun.out.find("kept in"), std::string::npos) << rerun.out;
  EXPECT_NE(rerun.out.find("2 stages run, 1 reused"), std::string::npos) << rerun.out;
  EXPECT_FALSE(fs::exists(d.path() + "/runs/exp/.teacher-resnet8.previous"));
  EXPECT_NE(read_bytes(teacher + "/model.pt"), model);
}

TEST(Trust, DamagedOrReplacedOutputsAreFoundAndReaderStagesKeptWhenTheRerunMatches) {
  TempDir d;
  const std::string exp = experiment(d);
  ASSERT_EQ(run("run --config " + exp).code, 0);
  const std::string dir = d.path() + "/runs/exp";
  const std::string model = read_bytes(dir + "/teacher-resnet8/model.pt");
  const std::string subset = read_bytes(dir + "/prune-random-f0.5-s0/subset.npy");
  const std::string student = read_bytes(dir + "/student-random-f0.5-a0.5-resnet8-s0/model.pt");
  auto check = [&](const std::string& what, const std::string& stage, const std::string& reason) {
    const Result r = run("run --config " + exp);
    ASSERT_EQ(r.code, 0) << what << "\n" << r.out;
    EXPECT_NE(r.out.find(stage + ": rerun (finished, but " + reason), std::string::npos) << what << "\n" << r.out;
    // The stage reruns to the same bytes (same config and seed), so the student that read it stays.
    EXPECT_NE(r.out.find("1 stages run, 2 reused"), std::string::npos) << what << "\n" << r.out;
    EXPECT_EQ(read_bytes(dir + "/teacher-resnet8/model.pt"), model) << what;
    EXPECT_EQ(read_bytes(dir + "/prune-random-f0.5-s0/subset.npy"), subset) << what;
    EXPECT_EQ(read_bytes(dir + "/student-random-f0.5-a0.5-resnet8-s0/model.pt"), student) << what;
  };
  flip_a_bit(dir + "/teacher-resnet8/model.pt", 200);
  check("a bit flipped", "teacher-resnet8", "model.pt changed since the stage finished");
  fs::remove(dir + "/teacher-resnet8/model.pt");
  check("deleted", "teacher-resnet8", "model.pt is missing");
  write_bytes(dir + "/prune-random-f0.5-s0/subset.npy", subset.substr(0, subset.size() - 8));
  check("truncated", "prune-random-f0.5-s0", "subset.npy changed");
  // Another valid subset: the last index replaced by another one.
  std::string other = subset;
  other[other.size() - 8] = static_cast<char>(other[other.size() - 8] == 0 ? 1 : 0);
  write_bytes(dir + "/prune-random-f0.5-s0/subset.npy", other);
  check("replaced", "prune-random-f0.5-s0", "subset.npy changed");
}

TEST(Trust, TheSameSeedGivesTheSameModelBesideABusyProcess) {
  TempDir d;
  const Result quiet = run(teacher_args(d, "quiet", 3));
  ASSERT_EQ(quiet.code, 0) << quiet.out;
  const std::string want = read_bytes(d.file("quiet/model.pt"));
  {
    BusyCore busy;
    const Result loaded = run(teacher_args(d, "loaded", 3));
    ASSERT_EQ(loaded.code, 0) << loaded.out;
    EXPECT_EQ(read_bytes(d.file("loaded/model.pt")), want) << "the weights depend on the load";
    // Started beside a busy core, its fixed threads sleep rather than spin (the log says so).
    EXPECT_NE(loaded.out.find("(OMP_WAIT_POLICY=PASSIVE)"), std::string::npos) << loaded.out;

    // Killed after its first checkpoint and resumed, under the same load.
    const std::string args = teacher_args(d, "killed", 3);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const std::string cmd = std::string(KDPRUNE_BIN) + " " + args + " >/dev/null 2>&1";
      execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (!fs::exists(d.file("killed/checkpoint.pt")) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    ASSERT_FALSE(fs::exists(d.file("killed/summary.json"))) << "it finished before it was killed";
    // Run-only keys may change on --resume: they change how it goes on, not what it computes.
    const Result resumed = run(args + " train.eval_batch_size=16 run.log_level=debug --resume");
    ASSERT_EQ(resumed.code, 0) << resumed.out;
    EXPECT_EQ(read_bytes(d.file("killed/model.pt")), want) << "the resumed run ended elsewhere";
  }
  // The adaptive mode says that its result depends on the load.
  const Result adaptive = run(teacher_args(d, "adaptive", 1) + " run.adapt_threads=true");
  ASSERT_EQ(adaptive.code, 0) << adaptive.out;
  EXPECT_NE(adaptive.out.find("the weights with it"), std::string::npos) << adaptive.out;
  EXPECT_NE(read_bytes(d.file("adaptive/summary.json")).find("\"reproducible\": false"), std::string::npos);
  EXPECT_NE(read_bytes(d.file("quiet/summary.json")).find("\"reproducible\": true"), std::string::npos);
}

TEST(Trust, ForceAndResumeOnlyTouchKdpruneRuns) {
  TempDir d;
  // A folder of the user's that has the run's name: --force refuses it and keeps the file.
  fs::create_directories(d.file("home"));
  write_bytes(d.file("home/notes.txt"), "mine");
  expect_one_line_error(run("train-teacher " + tiny(d, "home") + " --force"), "not a kdprune run directory");
  EXPECT_EQ(read_bytes(d.file("home/notes.txt")), "mine");
  // --resume of a run that never existed starts nothing.
  expect_one_line_error(run("train-teacher " + tiny(d, "never") + " --resume"), "there is no run");
  EXPECT_FALSE(fs::exists(d.file("never")));
  // An unfinished run: the message offers --resume first.
  fs::create_directories(d.file("half"));
  write_bytes(d.file("half/config.yaml"), "run: {seed: 0}\n");
  write_bytes(d.file("half/checkpoint.pt"), "x");
  expect_one_line_error(run("train-teacher " + tiny(d, "half")), "an unfinished run); pass --resume to continue it from its checkpoint");
  // A setting refused after the run started leaves no directory behind.
  const Result refused = run("train-teacher " + tiny(d, "graph") + " train.cuda_graph=on");
  EXPECT_EQ(refused.code, 1) << refused.out;
  EXPECT_FALSE(fs::exists(d.file("graph"))) << refused.out;
}

TEST(Trust, BadInputFamilies) {
  TempDir d;
  write_bytes(d.file("self.yaml"), "run: &a [*a]\n");
  expect_one_line_error(run("config --config " + d.file("self.yaml")), "an alias that contains itself");
  write_bytes(d.file("laughs.yaml"), kdprune::test::billion_laughs_yaml());
  const auto start = std::chrono::steady_clock::now();
  expect_one_line_error(run("config --config " + d.file("laughs.yaml")), "expands to more than");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  expect_one_line_error(run("train-teacher " + tiny(d, "t") + " run.threads=100000"), "run.threads");
  expect_one_line_error(run("train-teacher " + tiny(d, "t") + " run.threads=1000"), "run.threads=1000: expected at most 4 per core");
  EXPECT_FALSE(fs::exists(d.file("t")));
  expect_one_line_error(run("config " + tiny(d, "x") + " 'run.name=${run.root}'"), "interpolation is not supported");
  expect_one_line_error(run("config " + tiny(d, "x") + " 'data.subset=${run.rot}/s.npy'"), "config keys are not interpolated");
  const std::string exp = experiment(d);
  expect_one_line_error(run("run --config " + exp + " 'experiment.alphas=[0.5, 0.5]' --dry-run"), "'0.5' is listed twice");
  expect_one_line_error(run("run --config " + exp + " 'experiment.seeds=[0, 0]' --dry-run"), "'0' is listed twice");
  expect_one_line_error(run("run --config " + exp + " 'experiment.alphas=[]' --dry-run"), "at least one alpha");
  expect_one_line_error(run("run --config " + exp + " 'experiment.pruners=[]' --dry-run"), "at least one pruner");
  expect_one_line_error(run("run --config " + exp + " 'experiment.pruners=[{name: mine, scores: /no/such.npy}]' --dry-run"),
               "scores file '/no/such.npy' of pruner mine not found");
  EXPECT_FALSE(fs::exists(d.file("runs")));
  expect_one_line_error(run("distill " + tiny(d, "a") + " --alphas ''"), "expected comma-separated alphas");
  expect_one_line_error(run("distill " + tiny(d, "a") + " --alphas 0.5,0.5"), "alpha 0.5 is listed twice");
  expect_one_line_error(run("train-teacher " + tiny(d, "few") + " data.fraction=0.001"), "data.fraction=0.001000 keeps less than one of the 64");
  EXPECT_FALSE(fs::exists(d.file("few")));
  const auto start_strata = std::chrono::steady_clock::now();
  expect_one_line_error(run("config " + tiny(d, "x") + " prune.strata=100000000"), "prune.strata");
  EXPECT_LT(std::chrono::steady_clock::now() - start_strata, std::chrono::seconds(20));
  expect_one_line_error(run("config " + tiny(d, "x") + " run.name=.."), "run.name");
  std::string scores;
  for (int i = 0; i < 64; ++i) scores += std::to_string(i % 7) + "\n";
  write_bytes(d.file("scores.txt"), scores);
  expect_one_line_error(run("prune " + tiny(d, "p") + " prune.fraction=0.5 prune.method=random --scores " + d.file("scores.txt")),
               "prune.method=random selects without scores, but scores were given");
  expect_one_line_error(run("prune " + tiny(d, "p") + " prune.fraction=0.5 --scores " + d.path()), "a directory; expected a file");
  EXPECT_EQ(run("prune " + tiny(d, "p") + " prune.fraction=0.5 --scores " + d.file("scores.txt")).code, 0);
  // A data-parallel rank whose MASTER_ADDR does not resolve: one line at once, not minutes of
  // retries and a library trace.
  const auto join_start = std::chrono::steady_clock::now();
  expect_one_line_error(run("train-teacher " + tiny(d, "dp"), "", "RANK=1 WORLD_SIZE=2 MASTER_ADDR=no-such-host.invalid MASTER_PORT=29513"),
               "MASTER_ADDR 'no-such-host.invalid' does not resolve");
  EXPECT_LT(std::chrono::steady_clock::now() - join_start, std::chrono::seconds(30));
  EXPECT_FALSE(fs::exists(d.file("dp")));
}

// A file-size limit (ulimit -f) ends the run with one error line, not a silent SIGXFSZ.
TEST(Trust, AFileSizeLimitIsAnErrorLine) {
  TempDir d;
  const std::string cmd = "ulimit -f 64; " + std::string(KDPRUNE_BIN) + " train-teacher " + tiny(d, "small") + " 2>&1";
  FILE* p = popen(("bash -c '" + cmd + "'").c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  EXPECT_TRUE(WIFEXITED(status)) << "killed by a signal: " << out;
  EXPECT_EQ(WEXITSTATUS(status), 1) << out;
  EXPECT_NE(out.find("kdprune: error: "), std::string::npos) << out;
}

// A checkpoint of a deeper network of the same family given to --resume: named as such, with the
// first entry the model lacks, not as an optimizer-internal message.
TEST(Trust, ACheckpointOfAnotherArchitectureIsNamed) {
  TempDir d;
  ASSERT_EQ(run("train-teacher " + tiny(d, "deep") + " model.arch=resnet14").code, 0);
  ASSERT_EQ(run("train-teacher " + tiny(d, "small")).code, 0);
  fs::remove(d.file("small/summary.json"));
  fs::copy_file(d.file("deep/checkpoint.pt"), d.file("small/checkpoint.pt"), fs::copy_options::overwrite_existing);
  expect_one_line_error(run("train-teacher " + tiny(d, "small") + " --resume"), "entry 'layer1.1' is not part of this run's model (the file of another architecture?)");
}

// `kdprune config` checks what only the registries know, and run.name, as a command would.
TEST(Trust, ConfigChecksRegisteredNames) {
  expect_one_line_error(run("config data.name=foo"), "data.name: unknown name 'foo' (expected one of:");
  expect_one_line_error(run("config model.arch=resnet9"), "model.arch: unknown name 'resnet9'");
  expect_one_line_error(run("config kd.loss=kl"), "kd.loss: unknown name 'kl'");
  expect_one_line_error(run("config run.name=.."), "run.name");
  EXPECT_EQ(run("config model.arch=resnet20").code, 0);
}

// Settings refused only once the run has started (by the trainer, the KD terms, the split) leave
// no directory behind, so the corrected command needs no --force; a CRD bank larger than memory
// is a one-line error naming kd.nce_k.
TEST(Trust, RefusedAfterTheStartLeavesNothing) {
  TempDir d;
  ASSERT_EQ(run("train-teacher " + tiny(d, "teacher")).code, 0);
  const std::string teacher = " kd.teacher=" + d.file("teacher/model.pt");
  expect_one_line_error(run("distill " + tiny(d, "crd") + teacher + " kd.loss=crd kd.nce_k=100000000"), "kd.nce_k=100000000");
  EXPECT_FALSE(fs::exists(d.file("crd")));
  expect_one_line_error(run("distill " + tiny(d, "hint") + teacher + " kd.loss=fitnet kd.hint_layer=9"), "hint_layer");
  EXPECT_FALSE(fs::exists(d.file("hint")));
  expect_one_line_error(run("distill " + tiny(d, "foo") + teacher + " kd.loss=foo"), "kd.loss");
  EXPECT_FALSE(fs::exists(d.file("foo")));
  const Result split = run("train-teacher " + tiny(d, "split") + " data.split=0.001 data.part=teacher");
  EXPECT_EQ(split.code, 1) << split.out;
  EXPECT_FALSE(fs::exists(d.file("split"))) << split.out;
}
