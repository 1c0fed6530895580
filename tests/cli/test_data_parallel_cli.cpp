// Data-parallel runs through the binary: two ranks launched by scripts/launch_local.sh (torchrun's
// environment) or by torchrun itself write one run directory with a log per rank; a rank killed
// mid-run makes the other stop with a clear error within the timeout; what cannot run
// data-parallel (scoring, students trained together, per-sample-state losses), ranks started with
// different configs, NCCL for a run on the CPU and an unknown network interface are refused with one line; a rank that cannot
// load its data stops the others at once.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>

#include "run_cli.h"
#include "test_files.h"

namespace fs = std::filesystem;
using kdprune::test::read_bytes;
using kdprune::test::TempDir;

namespace {
kdprune::test::Result shell(const std::string& script) {
  const std::string cmd = "bash -c '" + script + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  return {WEXITSTATUS(pclose(p)), out};
}
std::string free_port() {  // a random high port; tests running at once rarely collide
  std::random_device rd;
  return std::to_string(20000 + rd() % 30000);
}
std::string tiny(const TempDir& d, const std::string& name, int epochs) {
  return "run.root=" + d.path() + " run.name=" + name +
         " data.name=synthetic data.synthetic.train_size=256 data.synthetic.test_size=64"
         " data.synthetic.channels=1 data.synthetic.height=8 data.synthetic.width=8 data.synthetic.classes=4"
         " model.arch=resnet8 train.batch_size=16 train.schedule=constant run.threads=1 train.epochs=" +
         std::to_string(epochs);
}
bool available() { return kdprune::test::run("info").out.find("data-parallel: gloo") != std::string::npos; }
}  // namespace

TEST(CliDataParallel, TwoRanksWriteOneRunDirectoryAndALogEach) {
  if (!available()) GTEST_SKIP() << "built without c10d Gloo";
  TempDir d;
  const auto r = shell("KDPRUNE=" + std::string(KDPRUNE_BIN) + " MASTER_PORT=" + free_port() + " " KDPRUNE_SOURCE_DIR
                       "/scripts/launch_local.sh 2 train-teacher " + tiny(d, "ddp", 2) + " train.grad_bucket_mb=0.05");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string dir = d.path() + "/ddp";
  for (const char* f : {"model.pt", "model.pth", "summary.json", "metrics.csv", "log.txt", "log.rank1.txt", "checkpoint.pt"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  EXPECT_FALSE(fs::exists(dir + "/log.rank0.txt"));
  // The result line is printed once, by rank 0, not once per rank.
  size_t lines = 0;
  for (size_t at = r.out.find("best_top1 "); at != std::string::npos; at = r.out.find("best_top1 ", at + 1)) ++lines;
  EXPECT_EQ(lines, 1u) << r.out;
  const std::string log1 = read_bytes(dir + "/log.rank1.txt");
  EXPECT_NE(log1.find("[rank 1/2] "), std::string::npos) << log1;
  EXPECT_NE(log1.find("rank 1 of 2, 16 samples per rank per step"), std::string::npos) << log1;
  // resnet8's 77k parameters (309 KB) in buckets of 0.05 MiB (52 KB; a bucket closes once it holds
  // that much: 158, 74, 58 and 19 KB): 4, started during backward.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log1, m, std::regex("gradients in ([0-9]+) bucket\\(s\\) of <= 0.05 MiB, reduced during backward"))) << log1;
  EXPECT_EQ(std::stoi(m[1].str()), 4);
  EXPECT_NE(read_bytes(dir + "/log.txt").find("[rank 0/2] "), std::string::npos);
  const auto s = nlohmann::json::parse(read_bytes(dir + "/summary.json"));
  EXPECT_EQ(s["epochs"], 2);
  EXPECT_TRUE(s["forgetting_scores"].is_null());
  // One row per epoch, written by rank 0 alone.
  const std::string csv = read_bytes(dir + "/metrics.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3) << csv;
}

TEST(CliDataParallel, AKilledRankMakesTheOtherStopWithAClearError) {
  if (!available()) GTEST_SKIP() << "built without c10d Gloo";
  TempDir d;
  const std::string env = "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + free_port() + " WORLD_SIZE=2 KDPRUNE_DIST_TIMEOUT=20 ";
  const std::string args = " train-teacher " + tiny(d, "killed", 200);
  const auto r = shell(env + "RANK=0 " + std::string(KDPRUNE_BIN) + args + " 2>" + d.path() + "/r0.txt & p0=$!; " + env +
                       "RANK=1 " + KDPRUNE_BIN + args + " 2>" + d.path() + "/r1.txt & p1=$!; " +
                       "for i in $(seq 600); do grep -q \"epoch 2/\" " + d.path() + "/r1.txt && break; sleep 0.1; done; " +
                       "kill -9 $p1; start=$SECONDS; wait $p0; echo \"rank0=$? after $((SECONDS - start)) s\"");
  const std::string r0 = read_bytes(d.path() + "/r0.txt");
  EXPECT_NE(r.out.find("rank0=1 "), std::string::npos) << r.out << r0;
  EXPECT_NE(r0.find("rank 0 of 2: "), std::string::npos) << r0;
  EXPECT_NE(r0.find("failed"), std::string::npos) << r0;
  EXPECT_FALSE(fs::exists(d.path() + "/killed/summary.json"));
}

namespace {
// Two ranks started by hand with torchrun's variables; `args_of(rank)` are each rank's arguments.
// Returns both exit codes and rank r's stderr in out ("rank0=C0 rank1=C1" then the logs).
kdprune::test::Result two_ranks(const TempDir& d, const std::function<std::string(int)>& args_of,
                                const std::string& extra_env = "") {
  const std::string env = " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + free_port() + " WORLD_SIZE=2 KDPRUNE_DIST_TIMEOUT=30 " + extra_env + " ";
  const auto r = shell(env + "RANK=0 " + std::string(KDPRUNE_BIN) + " " + args_of(0) + " 2>" + d.path() + "/r0.txt & p0=$!; " +
                       env + "RANK=1 " + KDPRUNE_BIN + " " + args_of(1) + " 2>" + d.path() + "/r1.txt & p1=$!; " +
                       "wait $p0; c0=$?; wait $p1; c1=$?; echo \"rank0=$c0 rank1=$c1\"");
  return {r.code, r.out + read_bytes(d.path() + "/r0.txt") + read_bytes(d.path() + "/r1.txt")};
}
bool has_torchrun() {
  return shell(std::string(KDPRUNE_PYTHON) + " -c \"import torch.distributed.run\"").code == 0;
}
}  // namespace

TEST(CliDataParallel, TorchrunLaunchesTheRanksOverItsAgentsStore) {
  if (!available()) GTEST_SKIP() << "built without c10d Gloo";
  if (!has_torchrun()) GTEST_SKIP() << "no torch in " << KDPRUNE_PYTHON;
  TempDir d;
  // torchrun serves the store at MASTER_PORT itself (TORCHELASTIC_USE_AGENT_STORE=True); the
  // ranks bind the loopback interface named by GLOO_SOCKET_IFNAME.
  const auto r = shell("GLOO_SOCKET_IFNAME=lo KDPRUNE_DIST_TIMEOUT=60 " + std::string(KDPRUNE_PYTHON) +
                       " -m torch.distributed.run --nnodes 1 --nproc-per-node 2 --master-addr 127.0.0.1 --master-port " +
                       free_port() + " --no-python " + KDPRUNE_BIN + " train-teacher " + tiny(d, "torchrun", 2) +
                       " train.grad_bucket_mb=0.05");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string dir = d.path() + "/torchrun";
  for (const char* f : {"model.pt", "summary.json", "log.txt", "log.rank1.txt"}) EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  // The join is logged before the run directory exists: on torchrun's console.
  EXPECT_NE(r.out.find("joining as rank 1 of 2 (torchrun; store 127.0.0.1:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("torchrun's agent's; timeout 60 s; interfaces lo)"), std::string::npos) << r.out;
  const std::string log1 = read_bytes(dir + "/log.rank1.txt");
  EXPECT_NE(log1.find("rank 1 of 2, 16 samples per rank per step"), std::string::npos) << log1;
  // resnet8's 77k parameters (309 KB) in buckets of 0.05 MiB (52 KB; a bucket closes once it holds
  // that much: 158, 74, 58 and 19 KB): 4, started during backward.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log1, m, std::regex("gradients in ([0-9]+) bucket\\(s\\) of <= 0.05 MiB, reduced during backward"))) << log1;
  EXPECT_EQ(std::stoi(m[1].str()), 4);
}

TEST(CliDataParallel, WhatCannotRunDataParallelIsRefusedBeforeAnyRunDirectory) {
  TempDir d;
  const std::string env = "RANK=0 WORLD_SIZE=2 MASTER_PORT=" + free_port() + " KDPRUNE_DIST_TIMEOUT=5 ";
  auto r = shell(env + KDPRUNE_BIN + " score " + tiny(d, "scores", 1) + " score.method=el2n");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("score: not under a data-parallel launcher"), std::string::npos) << r.out;
  r = shell(env + KDPRUNE_BIN + " distill --alphas 0,0.5 " + tiny(d, "group", 1));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("distill --alphas: several students train together"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(d.path() + "/scores"));
  EXPECT_FALSE(fs::exists(d.path() + "/group-alpha0"));
}

TEST(CliDataParallel, ALossWithPerSampleStateIsRefusedOnEveryRank) {
  if (!available()) GTEST_SKIP() << "built without c10d Gloo";
  TempDir d;
  ASSERT_EQ(kdprune::test::run("train-teacher " + tiny(d, "teacher", 1)).code, 0);
  const auto r = two_ranks(d, [&](int) {
    return "distill " + tiny(d, "crd", 1) + " kd.teacher=" + d.path() + "/teacher/model.pt kd.weighting=repdistiller" +
           " kd.alpha=1 kd.beta=0.8 kd.extra=crd kd.nce_k=16";
  });
  EXPECT_NE(r.out.find("rank0=1 rank1=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kd loss 'crd' keeps per-sample state"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(d.path() + "/crd"));
}

TEST(CliDataParallel, RanksStartedWithDifferentConfigsAllStop) {
  if (!available()) GTEST_SKIP() << "built without c10d Gloo";
  TempDir d;
  const auto r = two_ranks(d, [&](int rank) { return "train-teacher " + tiny(d, "mixed", 1) + " run.seed=" + std::to_string(rank + 7); });
  EXPECT_NE(r.out.find("rank0=1 rank1=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rank 1 was started with a different command or config than rank 0 ('  seed: 8' here, '  seed: 7' on rank 0)"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("another rank was started with a different command or config"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("train.amp=auto picks"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(d.path() + "/mixed"));
  // Ranks on machines that differ in native bf16 resolve train.amp=auto differently: the message
  // says so (here the precisions are given, as two such machines would resolve them).
  const auto p = two_ranks(d, [&](int rank) {
    return "train-teacher " + tiny(d, "prec", 1) + (rank == 0 ? " train.amp=off" : " train.amp=bf16");
  });
  EXPECT_NE(p.out.find("rank 1 was started with a different command or config than rank 0 ('  amp: \"bf16\"' here"),
            std::string::npos) << p.out;
  EXPECT_NE(p.out.find("train.amp=auto picks by each machine's CPU: set train.amp and train.channels_last"), std::string::npos)
      << p.out;
}

TEST(CliDataParallel, NcclForARunOnTheCpuIsAOneLineErrorOnEveryRank) {
  if (!available()) GTEST_SKIP() << "built without c10d Gloo";
  TempDir d;
  const auto r = two_ranks(d, [&](int) { return "train-teacher " + tiny(d, "nccl", 1) + " run.device=cpu train.dist_backend=nccl"; });
  EXPECT_NE(r.out.find("rank0=1 rank1=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("train.dist_backend=nccl: NCCL reduces CUDA tensors, and this run is on cpu (run.device=cuda, or "
                       "train.dist_backend=gloo)"),
            std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(d.path() + "/nccl"));
}

namespace {
// Rank `failing`'s data folder is missing (a per-node copy that is not there), with a timeout far
// longer than the test: the ranks' output and the seconds until both had stopped.
std::pair<kdprune::test::Result, double> one_rank_cannot_load(const TempDir& d, int failing) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = two_ranks(
      d,
      [&](int rank) {
        return "train-teacher " + tiny(d, "noload", 1) +
               (rank == failing ? " data.name=imagefolder data.root=" + d.path() + "/no-such-folder" : std::string());
      },
      "KDPRUNE_DIST_TIMEOUT=300");
  return {r, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
}
}  // namespace

TEST(CliDataParallel, ARankThatCannotLoadItsDataStopsTheOthersAtOnce) {
  if (!available()) GTEST_SKIP() << "built without c10d Gloo";
  TempDir d;
  const auto [r, seconds] = one_rank_cannot_load(d, 1);
  EXPECT_NE(r.out.find("rank0=1 rank1=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("data-parallel: rank 1 failed: while loading its data: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no-such-folder"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rank 0 of 2 stops too"), std::string::npos) << r.out;
  EXPECT_LT(seconds, 60) << "rank 0 waited for the timeout";
  EXPECT_FALSE(fs::exists(d.path() + "/noload"));
}

TEST(CliDataParallel, WhenRank0CannotLoadItsDataTheOthersStopToo) {
  if (!available()) GTEST_SKIP() << "built without c10d Gloo";
  TempDir d;
  // Rank 0 serves the job's store: it waits for rank 1 to read its report before it ends.
  const auto [r, seconds] = one_rank_cannot_load(d, 0);
  EXPECT_NE(r.out.find("rank0=1 rank1=1"), std::string::npos) << r.out;
  // Rank 1 reads rank 0's reason, or, had it still been loading after rank 0's 3 s, finds the store gone.
  EXPECT_TRUE(r.out.find("data-parallel: rank 0 failed: while loading its data: ") != std::string::npos ||
              r.out.find("lost the job's store") != std::string::npos)
      << r.out;
  EXPECT_LT(seconds, 60) << "rank 1 waited for the timeout";
}

TEST(CliDataParallel, AnUnknownNetworkInterfaceIsAOneLineError) {
  if (!available()) GTEST_SKIP() << "built without c10d Gloo";
  TempDir d;
  const auto r = two_ranks(d, [&](int) { return "train-teacher " + tiny(d, "ifname", 1); }, "GLOO_SOCKET_IFNAME=nosuch0");
  EXPECT_NE(r.out.find("rank0=1 rank1=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("GLOO_SOCKET_IFNAME='nosuch0': cannot use network interface 'nosuch0'"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(d.path() + "/ifname"));
}
