// `kdprune run --worker i/n`: workers over one plan train disjoint shares of the students, the
// shared stages once, and together give the unsharded run's results.csv (issue #41).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <sstream>
#include <thread>

#include "run_cli.h"
#include "test_files.h"

namespace fs = std::filesystem;
using namespace kdprune::test;

namespace {
// 12 students: two teachers (resnet8, resnet14) x f in {0.25, 0.5} x seeds {0, 1} with KD, and the
// four no-KD students; random pruning, one epoch on tiny synthetic images.
std::string grid(const TempDir& d, const std::string& root, const std::string& fractions = "[0.25, 0.5]") {
  const std::string path = d.file(root + ".yaml");
  write_bytes(path, "run: {root: " + d.file(root) + ", name: g, threads: 1}\n"
                    "data:\n  name: synthetic\n"
                    "  synthetic: {train_size: 64, test_size: 32, channels: 1, height: 8, width: 8, classes: 4}\n"
                    "model: {arch: resnet8}\n"
                    "train: {epochs: 1, batch_size: 16, lr: 0.05, schedule: constant, eval_every: 100}\n"
                    "experiment:\n"
                    "  teacher: {train.epochs: 1}\n"
                    "  teacher_archs: [resnet8, resnet14]\n"
                    "  fractions: " + fractions + "\n"
                    "  alphas: [0, 0.5]\n"
                    "  seeds: [0, 1]\n");
  return path;
}

// results.csv with the run directories' root made neutral and without wall_seconds (a timing).
std::string comparable(const std::string& csv_path, const std::string& root) {
  std::istringstream in(read_bytes(csv_path));
  std::string line, out;
  int wall = -1;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    if (wall < 0) wall = static_cast<int>(std::find(cells.begin(), cells.end(), "wall_seconds") - cells.begin());
    if (wall < static_cast<int>(cells.size())) cells.erase(cells.begin() + wall);
    std::string joined;
    for (const auto& c : cells) joined += c + ",";
    for (size_t at; (at = joined.find(root)) != std::string::npos;) joined.replace(at, root.size(), "ROOT");
    out += joined + "\n";
  }
  return out;
}

// "k of N students finished" from a worker's last line; -1 when absent.
int finished(const std::string& out) {
  std::smatch m;
  return std::regex_search(out, m, std::regex(R"((\d+) of 12 students finished)")) ? std::stoi(m[1]) : -1;
}

// How many times stage `name` was run (not reused) across outputs.
int runs_of(const std::string& out, const std::string& name) {
  int n = 0;
  for (size_t at = out.find("] " + name + ": run ("); at != std::string::npos; at = out.find("] " + name + ": run (", at + 1)) ++n;
  return n;
}
}  // namespace

TEST(Workers, ShardsTrainEachStudentOnceAndGiveTheUnshardedResults) {
  TempDir d;
  const Result whole = run("run --config " + grid(d, "one"));
  ASSERT_EQ(whole.code, 0) << whole.out;
  const std::string reference = comparable(d.file("one/g/results.csv"), d.file("one"));

  for (int n : {2, 3}) {
    const std::string root = "w" + std::to_string(n);
    const std::string cfg = grid(d, root);
    int total = 0;
    for (int i = 0; i < n; ++i) {
      const Result w = run("run --config " + cfg + " --worker " + std::to_string(i) + "/" + std::to_string(n));
      ASSERT_EQ(w.code, 0) << w.out;
      // Each worker trains only its own students: the finished count grows by exactly its share.
      const int now = finished(w.out);
      if (i + 1 < n) {
        ASSERT_GT(now, total) << "worker " << i << " trained nothing: " << w.out;
        EXPECT_EQ(w.out.find("results:"), std::string::npos) << "results before every worker ended: " << w.out;
      }
      total = i + 1 < n ? now : 12;
    }
    // The last worker found every student finished and wrote results.csv; a plain run reuses everything.
    ASSERT_TRUE(fs::exists(d.file(root + "/g/results.csv")));
    const Result collect = run("run --config " + cfg);
    ASSERT_EQ(collect.code, 0) << collect.out;
    EXPECT_NE(collect.out.find("0 stages run"), std::string::npos) << collect.out;
    EXPECT_EQ(comparable(d.file(root + "/g/results.csv"), d.file(root)), reference) << n << " workers";
    // Rerunning a worker after all finished trains nothing.
    const Result again = run("run --config " + cfg + " --worker 0/" + std::to_string(n));
    EXPECT_NE(again.out.find("0 stages run"), std::string::npos) << again.out;
  }
}

TEST(Workers, TwoAtOnceTrainTheSharedStagesOnce) {
  TempDir d;
  const std::string cfg = grid(d, "both");
  // Two workers started together, each writing its output to a file.
  const std::string cmd = std::string(KDPRUNE_BIN) + " run --config " + cfg;
  write_bytes(d.file("both.sh"), "(" + cmd + " --worker 0/2 > " + d.file("w0.txt") + " 2>&1; echo $? > " + d.file("rc0") + ") &\n(" +
                                     cmd + " --worker 1/2 > " + d.file("w1.txt") + " 2>&1; echo $? > " + d.file("rc1") + ") &\nwait\n");
  ASSERT_EQ(std::system(("bash " + d.file("both.sh")).c_str()), 0);
  const std::string out = read_bytes(d.file("w0.txt")) + read_bytes(d.file("w1.txt"));
  ASSERT_EQ(read_bytes(d.file("rc0")), "0\n") << out;
  ASSERT_EQ(read_bytes(d.file("rc1")), "0\n") << out;
  for (const char* teacher : {"teacher-resnet8", "teacher-resnet14"}) EXPECT_EQ(runs_of(out, teacher), 1) << teacher << ": " << out;
  for (const char* subset : {"prune-random-f0.25-s0", "prune-random-f0.5-s1"}) EXPECT_EQ(runs_of(out, subset), 1) << subset << ": " << out;
  // Every student trained by exactly one of them.
  int students = 0;
  for (size_t at = out.find("] student-"); at != std::string::npos; at = out.find("] student-", at + 1))
    students += out.compare(out.find(':', at), 6, ": run ") == 0;
  EXPECT_EQ(students, 12) << out;
  EXPECT_TRUE(fs::exists(d.file("both/g/results.csv")));
}

TEST(Workers, AKilledWorkerRestartedGivesTheSameResults) {
  TempDir d;
  const Result whole = run("run --config " + grid(d, "one"));
  ASSERT_EQ(whole.code, 0) << whole.out;
  const std::string cfg = grid(d, "k");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    execl(KDPRUNE_BIN, KDPRUNE_BIN, "run", "--config", cfg.c_str(), "--worker", "0/2", "experiment.group_students=1",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // Killed once its first student has finished (the others not yet).
  bool killed = false;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::minutes(3); std::chrono::steady_clock::now() < until;) {
    bool any = false;
    if (fs::exists(d.file("k/g")))
      for (const auto& e : fs::directory_iterator(d.file("k/g")))
        any = any || (e.path().filename().string().rfind("student-", 0) == 0 && fs::exists(e.path() / "summary.json"));
    if (any) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    if (waitpid(pid, nullptr, WNOHANG) == pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  waitpid(pid, nullptr, 0);
  ASSERT_TRUE(killed) << "the worker ended before it could be killed";
  ASSERT_EQ(run("run --config " + cfg + " --worker 0/2 experiment.group_students=1").code, 0);
  ASSERT_EQ(run("run --config " + cfg + " --worker 1/2 experiment.group_students=1").code, 0);
  EXPECT_EQ(comparable(d.file("k/g/results.csv"), d.file("k")), comparable(d.file("one/g/results.csv"), d.file("one")));
}

// Uneven fractions: the estimated shares of three workers within 20 % of each other.
TEST(Workers, TheDryRunDealsBalancedShares) {
  TempDir d;
  const std::string cfg = grid(d, "b", "[0.1, 0.2, 0.3, 0.5, 0.7, 0.9]");
  const Result dry = run("run --config " + cfg + " --dry-run --worker 1/3");
  ASSERT_EQ(dry.code, 0) << dry.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(dry.out, m, std::regex(R"(each worker: ([0-9.]+)% ([0-9.]+)% ([0-9.]+)%)"))) << dry.out;
  const double a = std::stod(m[1]), b = std::stod(m[2]), c = std::stod(m[3]);
  EXPECT_NEAR(a + b + c, 100.0, 0.2);
  EXPECT_LE(std::max({a, b, c}) / std::min({a, b, c}), 1.2) << dry.out;
  EXPECT_NE(dry.out.find("worker 1/3: "), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find(" [worker 1]"), std::string::npos) << dry.out;
  EXPECT_FALSE(fs::exists(d.file("b/g"))) << "a dry run writes nothing";
}

TEST(Workers, BadWorkerValuesAndDifferingPlansAreOneLine) {
  TempDir d;
  const std::string cfg = grid(d, "bad");
  expect_one_line_error(run("run --config " + cfg + " --worker 2/2"), "--worker '2/2': i must be 0..1");
  expect_one_line_error(run("run --config " + cfg + " --worker 0/0"), "--worker '0/0': n must be at least 1");
  expect_one_line_error(run("run --config " + cfg + " --worker two"), "--worker 'two': expected i/n");
  expect_one_line_error(run("run --config " + cfg + " --worker 0/2 --print-jobs"), "use one or the other");
  // A worker of another plan is running (here: the test holds the experiment as a worker would).
  fs::create_directories(d.file("bad/g"));
  write_bytes(d.file("bad/g/workers.json"), R"({"plan_fingerprint": "0123456789abcdef", "workers": 2})");
  const int fd = ::open(d.file("bad/.g.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_SH), 0);
  const Result other = run("run --config " + cfg + " --worker 0/2");
  expect_one_line_error(other, "differs from the running workers' (0123456789abcdef, " + d.file("bad/g/workers.json"));
  expect_one_line_error(other, "this worker's plan (fingerprint ");
  // A plain run beside running workers trains nothing and says how far they are.
  const Result plain = run("run --config " + cfg);
  EXPECT_EQ(plain.code, 0) << plain.out;
  EXPECT_NE(plain.out.find("0 of 12 students finished; workers (kdprune run --worker) still hold"), std::string::npos) << plain.out;
  ::close(fd);
  EXPECT_FALSE(fs::exists(d.file("bad/g/teacher-resnet8"))) << "nothing ran";
}
