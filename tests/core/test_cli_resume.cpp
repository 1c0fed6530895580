// kill -9 a real training process mid-epoch, resume it, and compare with an uninterrupted run.
#include <gtest/gtest.h>
#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "kdprune/train/checkpoint.h"
#include "kdprune/train/model_file.h"
#include "test_files.h"

extern char** environ;
namespace fs = std::filesystem;
using namespace kdprune;

namespace {
std::vector<std::string> args_for(const std::string& root, const std::string& name) {
  return {KDPRUNE_BIN, "train-teacher", "run.root=" + root, "run.name=" + name, "run.threads=1", "data.name=synthetic",
          "data.synthetic.train_size=768", "data.synthetic.test_size=64", "data.synthetic.channels=1",
          "data.synthetic.height=16", "data.synthetic.width=16", "data.synthetic.classes=4", "model.arch=resnet8",
          "train.epochs=8", "train.batch_size=32", "train.schedule=cosine", "train.checkpoint_every=1", "run.seed=3"};
}

pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST(CliResume, KillNineMidEpochThenResumeMatchesUninterrupted) {
  kdprune::test::TempDir d;
  ASSERT_EQ(wait_exit(spawn(args_for(d.path(), "ref"), d.file("ref.log"))), 0) << kdprune::test::read_bytes(d.file("ref.log"));

  const pid_t pid = spawn(args_for(d.path(), "victim"), d.file("victim.log"));
  const std::string ck = d.path() + "/victim/checkpoint.pt";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool killed = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(ck) && train::checkpoint_epochs_done(ck) >= 2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(60));  // into the next epoch
      killed = kill(pid, SIGKILL) == 0;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const int code = wait_exit(pid);
  ASSERT_TRUE(killed);
  ASSERT_EQ(code, 128 + SIGKILL) << "the run must have been killed, not finished";
  EXPECT_FALSE(fs::exists(d.path() + "/victim/summary.json"));
  EXPECT_FALSE(fs::exists(d.path() + "/victim/model.pt"));

  // Without --resume the unfinished run is refused; with it, training continues.
  EXPECT_EQ(wait_exit(spawn(args_for(d.path(), "victim"), d.file("refused.log"))), 1);
  auto resume_args = args_for(d.path(), "victim");
  resume_args.insert(resume_args.begin() + 2, "--resume");
  ASSERT_EQ(wait_exit(spawn(resume_args, d.file("resume.log"))), 0) << kdprune::test::read_bytes(d.file("resume.log"));
  EXPECT_NE(kdprune::test::read_bytes(d.file("resume.log")).find("resumed from"), std::string::npos);

  auto a = train::load_model(d.path() + "/ref/model.pt", torch::Device(torch::kCPU));
  auto b = train::load_model(d.path() + "/victim/model.pt", torch::Device(torch::kCPU));
  auto pa = a.model->named_parameters(), pb = b.model->named_parameters();
  for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
  auto ba = a.model->named_buffers(), bb = b.model->named_buffers();
  for (const auto& p : ba) EXPECT_TRUE(torch::equal(p.value(), bb[p.key()])) << p.key();
  EXPECT_EQ(kdprune::test::metrics_without_timing(d.path() + "/victim/metrics.csv"), kdprune::test::metrics_without_timing(d.path() + "/ref/metrics.csv"));

  // A changed config is refused on resume, naming the difference.
  resume_args.push_back("train.lr=0.3");
  fs::remove(d.path() + "/victim/summary.json");
  EXPECT_EQ(wait_exit(spawn(resume_args, d.file("changed.log"))), 1);
  EXPECT_NE(kdprune::test::read_bytes(d.file("changed.log")).find("lr: 0.3"), std::string::npos)
      << kdprune::test::read_bytes(d.file("changed.log"));
}
