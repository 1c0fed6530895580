#pragma once
// Where this process sits in a data-parallel job, read from the launcher's environment:
// torchrun's (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) or, in tasks srun started
// (SLURM_STEP_ID set), Slurm's (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, the first host of
// SLURM_JOB_NODELIST). Torch-free.
#include <cstdint>
#include <functional>
#include <string>

namespace kdprune::dist {

struct LaunchEnv {
  int64_t rank = 0, world = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  std::string launcher = "none";  // "torchrun" (or any RANK/WORLD_SIZE launcher), "slurm", "none"
  // torchrun's agent already serves the store at MASTER_ADDR:MASTER_PORT
  // (TORCHELASTIC_USE_AGENT_STORE=True): every rank joins it as a client, keys under this
  // restart's prefix (TORCHELASTIC_RESTART_COUNT), as torch.distributed does.
  bool agent_store = false;
  int64_t restart_count = 0;
  // GLOO_SOCKET_IFNAME: the network interfaces Gloo binds (comma-separated); empty: the address
  // the hostname resolves to.
  std::string socket_ifname;
  bool distributed() const { return world > 1; }
};

// getenv: a lookup (std::getenv by default; tests pass a map). torchrun's variables win over
// Slurm's (torchrun inside an allocation sets both). A malformed or inconsistent value is a
// kdprune::Error naming the variable.
LaunchEnv launch_env(const std::function<const char*(const char*)>& getenv = nullptr);

// The first host of a Slurm node list: "gpu[03-05,09],cpu1" -> "gpu03".
std::string first_slurm_host(const std::string& nodelist);

}  // namespace kdprune::dist
