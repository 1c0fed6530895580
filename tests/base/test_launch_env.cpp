// The launcher environment: torchrun's and Slurm's variables, and their errors.
#include <gtest/gtest.h>

#include <map>

#include "kdprune/dist/launch_env.h"
#include "kdprune/util/error.h"

using namespace kdprune;

namespace {
dist::LaunchEnv env_of(const std::map<std::string, std::string>& vars) {
  return dist::launch_env([&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}
}  // namespace

TEST(LaunchEnv, NoLauncherIsOneProcess) {
  const auto e = env_of({});
  EXPECT_EQ(e.world, 1);
  EXPECT_FALSE(e.distributed());
  EXPECT_EQ(e.launcher, "none");
}

TEST(LaunchEnv, TorchrunVariables) {
  const auto e = env_of({{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "1234"}});
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.master_addr, "node7");
  EXPECT_EQ(e.master_port, 1234);
  EXPECT_EQ(e.launcher, "torchrun");
  EXPECT_TRUE(e.distributed());
}

TEST(LaunchEnv, SlurmVariablesAndTheFirstHost) {
  const auto e = env_of({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"}, {"SLURM_STEP_ID", "0"},
                         {"SLURM_JOB_NODELIST", "gpu[03-05,09],cpu1"}});
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.world, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.master_addr, "gpu03");
  EXPECT_EQ(e.master_port, 29500);
  EXPECT_EQ(e.launcher, "slurm");
  EXPECT_EQ(dist::first_slurm_host("a1,b2"), "a1");
  EXPECT_EQ(dist::first_slurm_host("n[7]x"), "n7x");
  // torchrun inside an allocation sets both: torchrun's win.
  EXPECT_EQ(env_of({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_STEP_ID", "0"}, {"RANK", "0"}, {"WORLD_SIZE", "2"}}).world, 2);
  // The batch script itself (no srun step) runs alone.
  EXPECT_FALSE(env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "8"}}).distributed());
}

TEST(LaunchEnv, BadValuesNameTheVariable) {
  auto message = [](const std::map<std::string, std::string>& vars) {
    try {
      env_of(vars);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"RANK", "x"}, {"WORLD_SIZE", "2"}}).find("RANK='x'"), std::string::npos);
  EXPECT_NE(message({{"RANK", "2"}, {"WORLD_SIZE", "2"}}).find("not below the world size"), std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}}).find("RANK and WORLD_SIZE"), std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}}).find("MASTER_PORT"), std::string::npos);
}

TEST(LaunchEnv, TorchrunsAgentStoreAndTheGlooInterfaces) {
  auto e = env_of({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                   {"TORCHELASTIC_RESTART_COUNT", "2"}, {"GLOO_SOCKET_IFNAME", "eth0,eth1"}});
  EXPECT_TRUE(e.agent_store);
  EXPECT_EQ(e.restart_count, 2);
  EXPECT_EQ(e.socket_ifname, "eth0,eth1");
  // torchrun writes str(False) when its rendezvous serves no store: rank 0 starts one.
  e = env_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"TORCHELASTIC_USE_AGENT_STORE", "False"}});
  EXPECT_FALSE(e.agent_store);
  EXPECT_EQ(e.socket_ifname, "");
  EXPECT_THROW(env_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                       {"TORCHELASTIC_RESTART_COUNT", "x"}}),
               Error);
}
