#include "experiment_workers.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "kdprune/config/key_roles.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/io/run_dir.h"
#include "kdprune/io/run_lock.h"
#include "kdprune/system/environment.h"
#include "kdprune/util/error.h"
#include "kdprune/util/hash.h"
#include "kdprune/version.h"

namespace kdprune::commands {
using pipeline::StageKind;

WorkerPlan plan_workers(const std::vector<pipeline::Stage>& stages, const std::vector<Config>& configs,
                        const pipeline::Experiment& e, const pipeline::WorkerSpec& worker) {
  // The students dealt in units that train best together (one view, teacher and model: they share
  // batches and the teacher's forward; only kd.alpha differs), by estimated cost; this worker runs
  // its students and the stages they read (`mine`).
  WorkerPlan p;
  p.worker = worker;
  p.unit_of.assign(stages.size(), -1);
  p.mine.assign(stages.size(), true);
  std::vector<std::string> keys;
  for (size_t i = 0; i < stages.size(); ++i) {
    if (stages[i].kind != StageKind::student) continue;
    Config k = configs[i];
    k.run.name.clear();
    k.kd.alpha = AlphaSpec{};
    const std::string key = to_yaml(k);
    auto it = std::find(keys.begin(), keys.end(), key);
    if (it == keys.end()) keys.push_back(key), p.units.emplace_back(), it = keys.end() - 1;
    const auto u = static_cast<size_t>(it - keys.begin());
    p.unit_of[i] = static_cast<int64_t>(u);
    p.units[u].stages.push_back(i);
    std::string teacher_arch;
    if (!configs[i].kd.teacher.empty()) {
      for (size_t j : stages[i].inputs)
        if (stages[j].kind == StageKind::teacher) teacher_arch = configs[j].model.arch;
      for (size_t t = 0; t < e.teacher_models.size() && t < e.teacher_model_archs.size(); ++t)
        if (e.teacher_models[t] == configs[i].kd.teacher) teacher_arch = e.teacher_model_archs[t];
      if (teacher_arch.empty()) teacher_arch = configs[i].model.arch;
    }
    p.units[u].cost += pipeline::student_cost(stages[i].fraction, configs[i].train.epochs, configs[i].model.arch, teacher_arch);
  }
  p.dealt = pipeline::deal_units(p.units, worker.count);
  for (size_t i = stages.size(); i-- > 0;) {
    if (stages[i].kind == StageKind::student) p.mine[i] = p.dealt[static_cast<size_t>(p.unit_of[i])] == worker.index;
    else p.mine[i] = false;
  }
  for (size_t i = stages.size(); i-- > 0;)  // the stages this worker's students read, at any depth
    if (p.mine[i])
      for (size_t j : stages[i].inputs) p.mine[j] = true;
  // What every worker must agree on: the stages and their configs (not how each runs: threads,
  // device), the worker count and the build.
  std::string text = std::string(KDPRUNE_VERSION) + " " + git_commit() + "\nworkers " + std::to_string(worker.count) + "\n";
  for (size_t i = 0; i < stages.size(); ++i) {
    Config c = configs[i];
    copy_keys(c, Config{}, key_role::run_only);
    text += stages[i].name + "\n" + to_yaml(c);
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(text)));
  p.fingerprint = hex;
  return p;
}

std::string WorkerPlan::summary() const {
  const auto shares = pipeline::worker_shares(units, dealt, worker.count);
  double total = 0, largest = 0;
  for (double v : shares) total += v, largest = std::max(largest, v);
  size_t students = 0, count = 0;
  for (size_t u = 0; u < units.size(); ++u)
    if (dealt[u] == worker.index) ++count, students += units[u].stages.size();
  char line[160];
  std::snprintf(line, sizeof line, "worker %lld/%lld: %zu students in %zu units, estimated share %.1f%%; largest/mean %.3f; each worker:",
                static_cast<long long>(worker.index), static_cast<long long>(worker.count), students, count,
                total > 0 ? 100.0 * shares[static_cast<size_t>(worker.index)] / total : 0.0,
                total > 0 ? largest / (total / static_cast<double>(worker.count)) : 1.0);
  std::string s = line;
  for (double v : shares) {
    std::snprintf(line, sizeof line, " %.1f%%", total > 0 ? 100.0 * v / total : 0.0);
    s += line;
  }
  return s + " (plan " + fingerprint + ")";
}

std::shared_ptr<io::RunLock> join_workers(const pipeline::Experiment& e, const std::string& dir, const std::string& fingerprint,
                                          const pipeline::WorkerSpec& w) {
  const std::string path = dir + "/workers.json";
  if (auto lock = io::RunLock::try_acquire(e.root, e.name)) {  // no other process of the experiment: the plan is ours
    io::write_file_atomic(path, nlohmann::json{{"plan_fingerprint", fingerprint}, {"workers", w.count}}.dump(2) + "\n");
    lock->share();
    return lock;
  }
  std::shared_ptr<io::RunLock> lock;
  // Another worker may hold it alone for a moment (writing workers.json); a plain run holds it for good.
  for (int tries = 0; !(lock = io::RunLock::try_acquire(e.root, e.name, /*shared=*/true)); ++tries) {
    if (tries == 100)
      throw Error("run --worker " + std::to_string(w.index) + "/" + std::to_string(w.count) + ": experiment " + dir +
                  " is held by a kdprune run that is not a worker; wait for it to end");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string theirs = "(none)";
  try {
    theirs = nlohmann::json::parse(io::read_file(path)).at("plan_fingerprint").get<std::string>();
  } catch (const std::exception&) {
  }
  if (theirs != fingerprint)
    throw Error("run --worker " + std::to_string(w.index) + "/" + std::to_string(w.count) + ": this worker's plan (fingerprint " +
                fingerprint + ") differs from the running workers' (" + theirs + ", " + path +
                "): another config, override, worker count or kdprune build; start every worker with the same ones");
  return lock;
}

std::string students_finished(const std::vector<pipeline::Stage>& stages, const std::string& dir) {
  size_t n = 0, k = 0;
  for (const auto& st : stages)
    if (st.kind == StageKind::student) ++n, k += io::RunDir::is_finished(dir + "/" + st.name);
  return std::to_string(k) + " of " + std::to_string(n) + " students finished";
}

}  // namespace kdprune::commands
