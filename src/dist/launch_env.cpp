#include "kdprune/dist/launch_env.h"

#include <cstdlib>

#include "kdprune/util/error.h"

namespace kdprune::dist {
namespace {

int64_t integer(const char* name, const char* value, int64_t min) {
  try {
    size_t used = 0;
    const int64_t v = std::stoll(value, &used);
    if (used == std::string(value).size() && v >= min) return v;
  } catch (const std::exception&) {
  }
  throw Error(std::string("environment variable ") + name + "='" + value + "': expected an integer >= " + std::to_string(min));
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  // The first entry, up to a comma outside brackets.
  std::string first;
  int depth = 0;
  for (char c : nodelist) {
    if (c == ',' && depth == 0) break;
    depth += c == '[' ? 1 : c == ']' ? -1 : 0;
    first += c;
  }
  const auto open = first.find('[');
  if (open == std::string::npos) return first;
  // prefix[03-05,09]suffix -> prefix03suffix
  const auto close = first.find(']', open);
  if (close == std::string::npos) throw Error("SLURM_JOB_NODELIST='" + nodelist + "': unbalanced '['");
  const std::string range = first.substr(open + 1, close - open - 1);
  const std::string lead = range.substr(0, range.find_first_of(",-"));
  return first.substr(0, open) + lead + first.substr(close + 1);
}

LaunchEnv launch_env(const std::function<const char*(const char*)>& getenv_fn) {
  const auto get = [&](const char* name) -> const char* {
    const char* v = getenv_fn ? getenv_fn(name) : std::getenv(name);
    return v && *v ? v : nullptr;
  };
  LaunchEnv e;
  if (get("RANK") || get("WORLD_SIZE")) {
    if (!get("RANK") || !get("WORLD_SIZE")) throw Error("environment: RANK and WORLD_SIZE must be set together");
    e.launcher = "torchrun";
    e.rank = integer("RANK", get("RANK"), 0);
    e.world = integer("WORLD_SIZE", get("WORLD_SIZE"), 1);
    e.local_rank = get("LOCAL_RANK") ? integer("LOCAL_RANK", get("LOCAL_RANK"), 0) : e.rank;
  } else if (get("SLURM_PROCID") && get("SLURM_NTASKS") && get("SLURM_STEP_ID")) {
    // Only tasks started by srun (SLURM_STEP_ID): the batch script itself also sees SLURM_NTASKS.
    e.launcher = "slurm";
    e.rank = integer("SLURM_PROCID", get("SLURM_PROCID"), 0);
    e.world = integer("SLURM_NTASKS", get("SLURM_NTASKS"), 1);
    e.local_rank = get("SLURM_LOCALID") ? integer("SLURM_LOCALID", get("SLURM_LOCALID"), 0) : 0;
    if (const char* nodes = get("SLURM_JOB_NODELIST")) e.master_addr = first_slurm_host(nodes);
  } else {
    return e;
  }
  if (e.rank >= e.world)
    throw Error("environment: rank " + std::to_string(e.rank) + " is not below the world size " + std::to_string(e.world));
  if (const char* addr = get("MASTER_ADDR")) e.master_addr = addr;
  if (const char* agent = get("TORCHELASTIC_USE_AGENT_STORE"); agent && std::string(agent) == "True") {
    e.agent_store = true;
    if (const char* restarts = get("TORCHELASTIC_RESTART_COUNT"))
      e.restart_count = integer("TORCHELASTIC_RESTART_COUNT", restarts, 0);
  }
  if (const char* ifname = get("GLOO_SOCKET_IFNAME")) e.socket_ifname = ifname;
  if (const char* port = get("MASTER_PORT")) {
    e.master_port = integer("MASTER_PORT", port, 1);
    if (e.master_port > 65535) throw Error(std::string("environment variable MASTER_PORT='") + port + "': expected a port (1..65535)");
  }
  return e;
}

}  // namespace kdprune::dist
