// `kdprune run`: executes the plan of pipeline::plan stage by stage through the same library
// calls as the single subcommands, so every stage is an ordinary run directory.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "kdprune/commands/commands.h"
#include "kdprune/commands/name_checks.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/io/remove_tree.h"
#include "kdprune/io/run_dir.h"
#include "kdprune/io/run_lock.h"
#include "kdprune/dist/launch_env.h"
#include "kdprune/system/environment.h"
#include "kdprune/system/failure.h"
#include "kdprune/pipeline/experiment.h"
#include "kdprune/pipeline/results.h"
#include "kdprune/pipeline/stage_identity.h"
#include "kdprune/pipeline/stage_state.h"
#include "kdprune/pipeline/workers.h"
#include "kdprune/train/progress.h"
#include "kdprune/train/model_file.h"
#include "kdprune/util/error.h"
#include "kdprune/util/logging.h"
#include "experiment_workers.h"
#include "session.h"

namespace kdprune::commands {
namespace fs = std::filesystem;
using pipeline::StageAction;
using pipeline::StageKind;

namespace {

CommandOptions stage_options(const pipeline::Stage& stage, const std::string& base_path, StageAction action) {
  return {.config_path = base_path, .overrides = stage.overrides, .force = action != StageAction::resume,
          .resume = action == StageAction::resume};
}

// A finished stage that runs again keeps its old outputs aside (.<name>.previous beside it) until
// the new ones are complete: dropped then, put back if the new run fails.
std::string aside_of(const std::string& run_dir) {
  const fs::path p(run_dir);
  return (p.parent_path() / ("." + p.filename().string() + ".previous")).string();
}
void set_aside(const std::string& run_dir) {
  std::error_code ec;
  if (!io::RunDir::is_finished(run_dir)) return;  // an unfinished one (a killed rerun) keeps its aside
  const std::string aside = aside_of(run_dir);
  if (fs::exists(aside, ec)) io::remove_tree(aside, ec);  // one whose rerun finished before a kill
  fs::rename(run_dir, aside, ec);
  if (ec) throw Error("run directory '" + run_dir + "': cannot set its old outputs aside as " + aside + ": " + ec.message());
  spdlog::info("{}: the finished run's outputs are kept in {} until the new ones are complete", run_dir, aside);
}
void restore_aside(const std::string& run_dir) {
  std::error_code ec;
  const std::string aside = aside_of(run_dir);
  if (io::RunDir::is_finished(run_dir) || !fs::exists(aside, ec)) return;
  io::remove_tree(run_dir, ec);
  fs::rename(aside, run_dir, ec);
  if (!ec) spdlog::warn("{}: the rerun failed; the previous finished outputs are back in place", run_dir);
}
void drop_aside(const std::string& run_dir) {
  std::error_code ec;
  const std::string aside = aside_of(run_dir);
  if (fs::exists(aside, ec)) io::remove_tree(aside, ec);
}

void execute(const pipeline::Stage& stage, const std::string& base_path, StageAction action) {
  const CommandOptions o = stage_options(stage, base_path, action);
  switch (stage.kind) {
    case StageKind::teacher: train_teacher(o); break;
    case StageKind::score: score(o); break;
    case StageKind::prune: prune_subset(o, stage.scores_file); break;
    case StageKind::student: distill(o); break;
  }
}

// Given teacher files are labelled by their architecture; one whose architecture cannot be told
// (an unusual state_dict) keeps its folder's name, said once.
pipeline::Experiment with_teacher_archs(pipeline::Experiment e) {
  for (const auto& m : e.teacher_models) {
    std::string arch;
    try {
      arch = train::model_file_arch(m);
    } catch (const Error& err) {
      spdlog::info("experiment.teacher_models: {} is labelled by its folder ({})", m, err.what());
    }
    e.teacher_model_archs.push_back(arch);
  }
  return e;
}

}  // namespace

ExperimentReport run_experiment(const CommandOptions& opts, const ExperimentOptions& x) {
  if (opts.config_path.empty()) throw Error("run: expected --config FILE with an `experiment` section");
  if (dist::launch_env().distributed())
    throw Error("run: not under a data-parallel launcher (RANK/WORLD_SIZE or SLURM_NTASKS > 1 is set); launch a "
                "stage's train-teacher or distill command data-parallel instead (docs/distributed.md)");
  if (opts.resume)
    throw Error("run: --resume does not apply (interrupted stages resume by themselves); to rerun finished stages "
                "whose config changed, pass --rerun-changed");
  const bool rerun_changed = x.rerun_changed || opts.force;
  for (const auto& kind : x.only)
    if (kind != "teacher" && kind != "score" && kind != "prune" && kind != "student")
      throw Error("run --only: unknown stage kind '" + kind + "' (expected teacher, score, prune, student)");
  const bool as_worker = !x.worker.empty();
  const pipeline::WorkerSpec worker = as_worker ? pipeline::parse_worker(x.worker) : pipeline::WorkerSpec{};
  if (as_worker && x.print_jobs)
    throw Error("run --worker " + x.worker + " --print-jobs: --print-jobs lists every stage as a command of its own, "
                "--worker trains this worker's share in this process; use one or the other");
  const pipeline::Experiment e = with_teacher_archs(pipeline::load_experiment(opts.config_path, opts.overrides));
  const std::vector<pipeline::Stage> stages = pipeline::plan(e);
  for (const auto& w : pipeline::ignored_base_keys(e, opts.overrides)) spdlog::warn("{}", w);
  const std::string dir = e.dir();
  const std::string base_path = dir + "/base.yaml";
  auto selected = [&](StageKind k) { return x.only.empty() || std::find(x.only.begin(), x.only.end(), pipeline::kind_name(k)) != x.only.end(); };

  std::vector<Config> configs;
  for (const auto& st : stages) {
    try {
      configs.push_back(load_config_text(e.base_yaml, e.file, st.overrides));
      // What only the registries know, for every stage before any runs: a typo in one stage's
      // override fails now, not hours into a sweep.
      check_registered_names(configs.back(), {.model = st.kind != StageKind::prune, .kd = st.kind == StageKind::student,
                                              .prune = st.kind == StageKind::prune, .score = st.kind == StageKind::score});
    } catch (const Error& err) {
      throw Error("stage " + st.name + ": " + err.what());
    }
  }
  // --worker: this worker's share of the students and what they read, and the plan every worker
  // must share (experiment_workers.cpp).
  const WorkerPlan wp = as_worker ? plan_workers(stages, configs, e, worker) : WorkerPlan{};
  ExperimentReport report;
  std::vector<std::string> fingerprints(stages.size());
  // changed: the stage is not reused as it is; executed: it ran in this process (its outputs are
  // the new ones, which the stages reading it compare with what they recorded having read).
  std::vector<bool> changed(stages.size(), false), pending(stages.size(), false), executed(stages.size(), false);
  std::ostringstream plan, jobs;
  const bool writes = !x.dry_run;
  // Whether stage i must run, from its config, its inputs and its recorded state.
  auto decide = [&](size_t i) {
    const auto& st = stages[i];
    const Config& planned = configs[i];  // train.amp=auto stays auto: each run resolves it
    std::vector<std::string> inputs;
    bool inputs_changed = false;
    const std::string run_dir = dir + "/" + st.name;
    for (size_t j : st.inputs) {
      inputs.push_back(fingerprints[j]);
      // An input that ran again here and wrote the very files this stage read leaves it current.
      inputs_changed = inputs_changed || (changed[j] && !(executed[j] && pipeline::consumed_unchanged(run_dir, dir)));
    }
    const bool can_resume = st.kind != StageKind::prune;  // score: memorization keeps finished models
    // Each config read against its own experiment folder (run.root of every stage): a stage made
    // before the folder moved names its files there, and they are the same files.
    const auto changes_of = [kind = st.kind](const Config& c) { return pipeline::identity_text(c, kind, c.run.root); };
    const std::string key_text = changes_of(planned) + pipeline::path_identity(st.scores_file, dir);
    const auto state = pipeline::stage_state(run_dir, pipeline::command_of(st.kind), key_text, planned, inputs,
                                             can_resume, inputs_changed, changes_of);
    // A stage that runs now invalidates what reads it, even where its fingerprint is the same.
    fingerprints[i] = state.fingerprint;
    changed[i] = state.action != StageAction::reuse;
    return state;
  };
  // The whole plan first: a finished stage is never thrown away unless asked, so a change that
  // would rerun one stops the run before anything starts, naming each stage and key.
  {
    std::vector<std::string> discarded;
    for (size_t i = 0; i < stages.size(); ++i) {
      const auto state = decide(i);
      if (state.discards_finished && selected(stages[i].kind)) discarded.push_back(stages[i].name + " (" + state.reason + ")");
    }
    if (!discarded.empty() && !rerun_changed && !x.dry_run) {
      std::string list;
      for (const auto& d : discarded) list += (list.empty() ? "" : "; ") + d;
      throw Error("run: " + std::to_string(discarded.size()) + " finished stage" + (discarded.size() == 1 ? "" : "s") +
                  " of " + dir + " would be rerun and " + (discarded.size() == 1 ? "its result" : "their results") +
                  " replaced: " + list + ". Nothing was run. Undo the change, use another experiment.name, or pass "
                  "--rerun-changed (the old outputs are kept aside until the new ones are complete)");
    }
    std::fill(changed.begin(), changed.end(), false);
  }
  std::shared_ptr<io::RunLock> experiment_lock;
  std::optional<logging::FileScope> pipeline_log;  // the experiment's own lines, until it returns or throws
  if (writes) {
    // One `kdprune run` per experiment (its stages hold their own locks too, for --print-jobs).
    if (!x.print_jobs) {
      std::error_code ec;
      fs::create_directories(e.root, ec);
      fs::create_directories(dir);
      if (as_worker) {
        experiment_lock = join_workers(e, dir, wp.fingerprint, worker);
      } else if (!(experiment_lock = io::RunLock::try_acquire(e.root, e.name)) && fs::exists(dir + "/workers.json")) {
        // Workers hold the experiment: say how far they are, train nothing beside them.
        report.progress = students_finished(stages, dir) + "; workers (kdprune run --worker) still hold " + dir +
                          ": run this again once they have ended";
        return report;
      } else if (!experiment_lock) {
        experiment_lock = io::RunLock::acquire(e.root, e.name);  // names the process that holds it
      }
    }
    fs::create_directories(dir);
    io::write_file_atomic(base_path, e.base_yaml);
    if (!x.print_jobs) pipeline_log.emplace(std::vector<std::string>{dir + "/pipeline.log"});
  }
  spdlog::info("experiment {} ({}): {} stages in {}", e.name, e.file, stages.size(), dir);
  // The experiment's ETA: the stages still to run (not finished, selected), each at the mean time
  // of the stages of its kind run so far here; kinds not timed yet are counted as unknown.
  std::map<StageKind, std::pair<double, int>> stage_seconds;
  auto stages_eta = [&](size_t from) {
    double eta = 0;
    int left = 0, untimed = 0;
    for (size_t j = from; j < stages.size(); ++j) {
      if (!selected(stages[j].kind) || io::RunDir::is_finished(dir + "/" + stages[j].name)) continue;
      ++left;
      const auto t = stage_seconds.find(stages[j].kind);
      if (t == stage_seconds.end()) ++untimed;
      else eta += t->second.first / t->second.second;
    }
    if (left == 0 || untimed == left) return std::string();
    return ", " + std::to_string(left) + " stages to run, ETA " + train::clock_text(eta) +
           (untimed ? " + " + std::to_string(untimed) + " not yet timed" : std::string());
  };
  // Students trained together (train::fit_group): each student waits until a stage needs it or
  // the plan ends; then the waiting students are packed into groups of one dataset, teacher and
  // architecture, up to experiment.group_students each (and, inside distill_together, up to the
  // memory train.group_max allows). A group may mix views, fractions and seeds (an α × f × seed grid).
  const int64_t group_limit = e.group_students;
  struct Pending {
    size_t stage;
    StageAction action;
    std::string fingerprint;
  };
  std::vector<Pending> waiting;
  auto run_stages = [&](const std::vector<Pending>& group) {
    std::vector<CommandOptions> opts_list;
    std::string names;
    for (const auto& p : group) {
      opts_list.push_back(stage_options(stages[p.stage], base_path, p.action));
      names += (names.empty() ? "" : ", ") + stages[p.stage].name;
    }
    if (group.size() > 1) spdlog::info("{} students train together: {}", group.size(), names);
    for (const auto& p : group) set_aside(dir + "/" + stages[p.stage].name);
    const auto start = std::chrono::steady_clock::now();
    // The stage boundary: any failure (kdprune's, LibTorch's, out of memory) is named by its stage,
    // a stage's own log holds its lines (pipeline.log again after, however it ends), and the
    // students of a group that finished before one failed are kept as finished stages.
    std::string failure;
    try {
      const logging::FileScope stage_logs;
      if (group.size() == 1) execute(stages[group.front().stage], base_path, group.front().action);
      else distill_together(opts_list);
    } catch (const Error& err) {
      failure = err.what();
    } catch (...) {
      failure = system::describe_current_failure();
    }
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::vector<Pending> done;
    for (const auto& p : group) {
      const std::string stage_dir = dir + "/" + stages[p.stage].name;
      if (failure.empty() || (group.size() > 1 && io::RunDir::is_finished(stage_dir))) done.push_back(p);
      else restore_aside(stage_dir);
    }
    for (const auto& p : done) {
      const auto& st = stages[p.stage];
      pipeline::record_fingerprint(dir + "/" + st.name, pipeline::command_of(st.kind), p.fingerprint,
                                   pipeline::consumed_files(configs[p.stage], st.scores_file, dir), dir);
      drop_aside(dir + "/" + st.name);
      executed[p.stage] = true;
      auto& [seconds, count] = stage_seconds[st.kind];
      seconds += took / static_cast<double>(group.size()), ++count;
      ++report.executed;
    }
    if (!failure.empty()) {
      const auto& first = stages[group.front().stage];
      throw Error("stage " + (group.size() == 1 ? first.name + " (" + pipeline::command_line(first, base_path) + ")"
                                                : names + " (trained together; " + std::to_string(done.size()) + " of " +
                                                      std::to_string(group.size()) + " finished and kept)") +
                  ": " + failure);
    }
  };
  // Students of one dataset (trainable_together), architecture and teacher share a group; one
  // without a teacher (no KD) joins any.
  auto groupable = [&](const Pending& a, const Pending& b) {
    const Config &x = configs[a.stage], &y = configs[b.stage];
    const bool same_teacher = (x.kd.teacher == y.kd.teacher && x.kd.teacher_arch == y.kd.teacher_arch) ||
                              x.kd.teacher.empty() || y.kd.teacher.empty();
    return trainable_together(x, y) && x.model.arch == y.model.arch && same_teacher;
  };
  auto run_waiting = [&] {
    std::vector<std::vector<Pending>> groups;
    for (const auto& p : waiting) {
      auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) {
        return static_cast<int64_t>(g.size()) < std::max<int64_t>(group_limit, 1) &&
               std::all_of(g.begin(), g.end(), [&](const Pending& m) { return groupable(m, p); });
      });
      if (it == groups.end()) groups.push_back({p});
      else it->push_back(p);
    }
    waiting.clear();
    for (const auto& g : groups) run_stages(g);
  };
  for (size_t i = 0; i < stages.size(); ++i) {
    const auto& st = stages[i];
    const std::string run_dir = dir + "/" + st.name;
    const auto state = decide(i);
    plan << pipeline::action_name(state.action) << '\t' << st.name << '\t' << state.reason
         << (state.discards_finished && !rerun_changed ? " [needs --rerun-changed]" : "")
         << (as_worker && st.kind == StageKind::student ? " [worker " + std::to_string(wp.worker_of(i)) + "]" : "")
         << (as_worker && st.kind != StageKind::student && !wp.mine[i] ? " [not needed by worker " + std::to_string(worker.index) + "]" : "")
         << "\n\t" << pipeline::command_line(st, base_path) << '\n';
    if (as_worker && !wp.mine[i]) {  // another worker's student, or a stage only they read
      report.others += st.kind == StageKind::student;
      continue;
    }
    if (x.dry_run) continue;
    if (state.action == StageAction::reuse) {
      ++report.reused;
      if (state.adopted)
        pipeline::record_fingerprint(run_dir, pipeline::command_of(st.kind), state.fingerprint,
                                     pipeline::consumed_files(configs[i], st.scores_file, dir), dir);
      if (!x.print_jobs) spdlog::info("[{}/{}] {}: reused ({})", i + 1, stages.size(), st.name, state.reason);
      continue;
    }
    for (size_t j : st.inputs)
      if (pending[j] && selected(st.kind))
        throw Error("stage " + st.name + " needs " + stages[j].name + ", which is not up to date (run the " +
                    pipeline::kind_name(stages[j].kind) + " stages first, e.g. kdprune run --only " + pipeline::kind_name(stages[j].kind) + ")");
    if (!selected(st.kind)) {
      pending[i] = true;
      ++report.skipped;
      continue;
    }
    if (x.print_jobs) {
      std::string line = pipeline::command_line(st, base_path);
      line.replace(0, std::string("kdprune").size(), x.program);
      jobs << line << (state.action == StageAction::resume ? " --resume" : " --force") << '\n';
      pending[i] = true;
      continue;
    }
    // A stage every worker may need (a teacher, scores, a subset) runs once: the worker that claims
    // it runs it, the others wait for it and then reuse it (or take it up, should that worker die).
    std::shared_ptr<io::RunLock> claim;
    auto current = state;
    if (as_worker && st.kind != StageKind::student) {
      for (bool said = false; !(claim = io::RunLock::try_acquire(dir, st.name + ".claim"));) {
        if (!said) spdlog::info("[{}/{}] {}: another worker runs it; waiting for it", i + 1, stages.size(), st.name), said = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
      current = decide(i);
      if (current.action == StageAction::reuse) {
        ++report.reused;
        spdlog::info("[{}/{}] {}: reused (another worker ran it)", i + 1, stages.size(), st.name);
        continue;
      }
    }
    spdlog::info("[{}/{}] {}: {} ({}){}", i + 1, stages.size(), st.name, pipeline::action_name(current.action), current.reason,
                 stages_eta(i));
    const Pending job{i, current.action, current.fingerprint};
    // A stage that reads a waiting student's run waits for it to be trained.
    if (std::any_of(waiting.begin(), waiting.end(), [&](const Pending& p) {
          return std::find(st.inputs.begin(), st.inputs.end(), p.stage) != st.inputs.end();
        }))
      run_waiting();
    if (st.kind == StageKind::student && group_limit > 1) {
      waiting.push_back(job);
      continue;
    }
    run_stages({job});
  }
  run_waiting();
  report.plan = plan.str();
  report.jobs = jobs.str();
  const bool students_done = std::all_of(stages.begin(), stages.end(), [&](const pipeline::Stage& st) {
    return st.kind != StageKind::student || io::RunDir::is_finished(dir + "/" + st.name);
  });
  if (as_worker && x.dry_run) {
    plan << wp.summary() << '\n';
    report.plan = plan.str();
  }
  if (x.dry_run || x.print_jobs) return report;
  if (!students_done) {
    if (as_worker)
      report.progress = "worker " + x.worker + " done; " + students_finished(stages, dir) +
                        " (the rest are other workers'; a plain kdprune run collects once all have ended)";
    return report;
  }
  pipeline::AxisKeys axis_keys;
  for (const auto& a : e.axes) axis_keys.student.push_back(a.key);
  for (const auto& a : e.teacher_axes) axis_keys.teacher.push_back(a.key);
  // `kdprune results` on this folder reads the axes from here.
  if (!axis_keys.student.empty() || !axis_keys.teacher.empty())
    io::write_file_atomic(dir + "/axes.json", nlohmann::json{{"axes", axis_keys.student}, {"teacher_axes", axis_keys.teacher}}.dump(2) + "\n");
  std::vector<pipeline::ResultRow> rows;
  for (const auto& st : stages)
    if (st.kind == StageKind::student) rows.push_back(pipeline::read_result(dir + "/" + st.name, axis_keys));
  report.results_path = dir + "/results.csv";
  io::write_file_atomic(report.results_path, pipeline::results_csv(rows));
  report.table = pipeline::accuracy_table(rows, x.metric);
  io::write_file_atomic(dir + "/table.md", report.table);
  // The workers' record is done with once a plain run has collected the whole grid.
  if (!as_worker) fs::remove(dir + "/workers.json");
  spdlog::info("experiment {}: {} stages run, {} reused; results in {}", e.name, report.executed, report.reused,
               report.results_path);
  return report;
}

std::string collect_results(const std::vector<std::string>& dirs, const std::string& out_path, const std::string& metric) {
  std::vector<pipeline::ResultRow> rows;
  pipeline::AxisKeys axes;  // an experiment folder's further axes (axes.json, written by kdprune run)
  auto add = [&](const fs::path& d) {
    if (!io::RunDir::is_finished(d.string())) return false;
    // Only student runs have results rows; teacher, prune and score runs are skipped.
    std::string cmd;
    try {
      cmd = nlohmann::json::parse(io::read_file((d / "summary.json").string())).value("command", "");
    } catch (const nlohmann::json::exception& e) {
      throw Error((d / "summary.json").string() + ": not valid JSON (" + e.what() + ")");
    }
    if (cmd == "distill") rows.push_back(pipeline::read_result(d.string(), axes));
    return true;
  };
  for (const auto& d : dirs) {
    if (!fs::is_directory(d)) throw Error(d + ": not a directory");
    axes = {};
    if (const auto json = fs::path(d) / "axes.json"; fs::exists(json)) {
      try {
        const auto j = nlohmann::json::parse(io::read_file(json.string()));
        axes.student = j.at("axes").get<std::vector<std::string>>();
        axes.teacher = j.at("teacher_axes").get<std::vector<std::string>>();
      } catch (const nlohmann::json::exception& e) {
        throw Error(json.string() + ": expected {\"axes\": [keys], \"teacher_axes\": [keys]} (" + e.what() + ")");
      }
    }
    if (add(d)) continue;
    std::vector<fs::path> children;
    for (const auto& entry : fs::directory_iterator(d))  // not the hidden ones: old outputs kept aside
      if (entry.is_directory() && entry.path().filename().string().front() != '.') children.push_back(entry.path());
    std::sort(children.begin(), children.end());
    for (const auto& c : children) add(c);
  }
  if (rows.empty()) {
    std::string where;
    for (const auto& d : dirs) where += (where.empty() ? "" : ", ") + d;
    throw Error("kdprune results: no finished student run (a summary.json of `kdprune distill`) in " + where +
                " or the folders directly under it; a `kdprune run` experiment's students are its student-* folders");
  }
  if (!out_path.empty()) io::write_file_atomic(out_path, pipeline::results_csv(rows));
  return pipeline::accuracy_table(rows, metric);
}

}  // namespace kdprune::commands
