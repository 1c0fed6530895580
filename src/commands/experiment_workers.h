#pragma once
// `kdprune run --worker i/n`: which students each worker trains (dealt by estimated cost in units
// that train best together), which stages this worker runs, the plan every worker must share, and
// joining the workers under the experiment's lock.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kdprune/config/config.h"
#include "kdprune/pipeline/experiment.h"
#include "kdprune/pipeline/workers.h"

namespace kdprune::io {
class RunLock;
}

namespace kdprune::commands {

struct WorkerPlan {
  pipeline::WorkerSpec worker;
  std::vector<pipeline::WorkUnit> units;
  std::vector<int64_t> unit_of;  // per stage: its unit (student stages), else -1
  std::vector<int64_t> dealt;    // per unit: the worker that trains it
  std::vector<bool> mine;        // per stage: this worker runs it (its students and what they read)
  std::string fingerprint;       // of the stages, their configs, the worker count and the build

  int64_t worker_of(size_t stage) const { return dealt.at(static_cast<size_t>(unit_of.at(stage))); }
  // --dry-run's line: this worker's students and estimated share, every worker's share, the plan.
  std::string summary() const;
};

// `configs`: each stage's config, in plan order. Students that differ only in run.name and
// kd.alpha form one unit (they share batches and the teacher's forward).
WorkerPlan plan_workers(const std::vector<pipeline::Stage>& stages, const std::vector<Config>& configs,
                        const pipeline::Experiment& e, const pipeline::WorkerSpec& worker);

// Joins the experiment's workers under its lock, held shared by every worker (a plain `kdprune
// run` holds it alone). The first worker writes the plan's fingerprint (workers.json); one whose
// plan differs (another config, overrides or kdprune build) is refused, naming both.
std::shared_ptr<io::RunLock> join_workers(const pipeline::Experiment& e, const std::string& dir, const std::string& fingerprint,
                                          const pipeline::WorkerSpec& w);

// "k of N students finished" over the experiment's student stages.
std::string students_finished(const std::vector<pipeline::Stage>& stages, const std::string& dir);

}  // namespace kdprune::commands
