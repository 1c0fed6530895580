#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <algorithm>
#include <map>
#include <span>
#include <sstream>

#include "kdprune/config/config_lookup.h"
#include "kdprune/dist/launch_env.h"
#include "kdprune/io/run_dir.h"
#include "kdprune/losses/distill_objective.h"
#include "kdprune/train/memory.h"
#include "kdprune/train/model_file.h"
#include "kdprune/train/precision.h"
#include "kdprune/util/error.h"
#include "kdprune/util/logging.h"
#include "session.h"

namespace kdprune::commands {
namespace {

// RepDistiller's init stage (helper/pretrain.py init(), for FSP, AB and FT): kd.init_epochs epochs
// on the term's loss alone, SGD without a schedule (at train.lr, or the term's: FT 0.01), training
// the student's feature layers (every parameter but the classifier's; FSP, AB) and the term's own
// init modules (AB's connectors, FT's paraphraser; FT leaves the student frozen in eval mode), before
// the main training starts with a fresh optimizer. Its checkpoint (init_checkpoint.pt) makes it
// resumable; a run resumed after it ended skips it.
void run_init_stage(Session& s, const models::Model& student, const losses::Objective& o) {
  const auto& cfg = s.config;
  if (cfg.kd.init_epochs == 0) {
    spdlog::warn("kd.init_epochs = 0: no init stage for {}, whose main-training term is 0 or untrained", o.init_term);
    return;
  }
  if (s.run().resumed() && std::filesystem::exists(s.run().file("checkpoint.pt"))) {
    spdlog::info("init stage ({}): finished before; the main training resumes", o.init_term);
    return;
  }
  TrainSection t = cfg.train;
  t.epochs = cfg.kd.init_epochs, t.schedule = "constant", t.warmup_epochs = 0, t.eval_every = cfg.kd.init_epochs;
  if (o.init.lr > 0) t.lr = o.init.lr;
  t.checkpoint_every = 1;
  std::vector<torch::Tensor> features;
  int64_t count = 0;
  if (o.init.trains_student) features = student->feature_parameters();
  for (const auto& p : features) count += p.numel();
  // The init modules train here even where the main training freezes them (FT's paraphraser).
  std::vector<std::pair<torch::Tensor, bool>> frozen;
  int64_t module_count = 0;
  if (o.init.modules)
    for (auto& p : o.init.modules->parameters()) {
      frozen.emplace_back(p, p.requires_grad());
      p.set_requires_grad(true);
      module_count += p.numel();
    }
  spdlog::info("init stage ({}): {} epochs on {}{}{}, lr {} constant", o.init_term, t.epochs,
               o.init.trains_student ? "the student's feature layers (" + std::to_string(count) + " parameters)" : "",
               o.init.trains_student && module_count ? " and " : "",
               module_count ? "the term's modules (" + std::to_string(module_count) + " parameters)" : "", t.lr);
  const models::PreactFeatures preact(*student, o.init.preact);
  train::fit({.model = *student,
              .data = s.data,
              .indices = s.view.indices,
              .train = t,
              .augment = cfg.data.augment,
              .seed = cfg.run.seed,
              .checkpoint_path = s.run().file("init_checkpoint.pt"),
              .resume = s.run().resumed(),
              .loss = o.init_loss,
              .loss_modules = o.init.modules,
              .parameters = std::move(features),
              .freeze_model = !o.init.trains_student,
              .loss_capturable = o.capturable,
              .adapt_threads = cfg.run.adapt_threads,
              .collective = s.collective()});
  for (auto& [p, requires_grad] : frozen) p.set_requires_grad(requires_grad);
  spdlog::info("init stage ({}) done; main training", o.init_term);
}

// One student up to its training: config checked, teacher loaded, run directory open, objective
// built, init stage done.
struct Student {
  std::unique_ptr<Session> s;
  models::Model teacher;
  train::ModelMeta teacher_meta;
  double teacher_top1 = -1;
  models::Model student;
  losses::Objective objective;
  double alpha = 0;
  losses::LossWeights w;
  bool teacher_shared = false;  // the teacher of an earlier student of the group
};

// Teacher caches of a group, one per kd.teacher file.
using TeacherCaches = std::map<std::string, std::shared_ptr<losses::TeacherCache>>;

// The shipped teacher config whose run.name is `folder` (configs/cifar100/teacher.yaml writes
// runs/cifar100-teacher-resnet32), as `--config` accepts it by name (cifar100_teacher.yaml); "" if none.
std::string shipped_teacher_config(const std::string& folder) {
  namespace fs = std::filesystem;
  const std::regex line("^\\s+name:\\s*['\"]?" + std::regex_replace(folder, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                        "['\"]?\\s*(#.*)?$");
  for (const auto& dir : shipped_config_dirs()) {
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const auto& p = it->path();
      if (p.extension() != ".yaml" || p.filename().string().find("teacher") == std::string::npos) continue;
      std::ifstream in(p);
      for (std::string l; std::getline(in, l);)
        if (std::regex_match(l, line)) {
          const auto rel = p.lexically_relative(dir);
          return rel.has_parent_path() ? rel.parent_path().string() + "_" + rel.filename().string() : rel.string();
        }
    }
  }
  return {};
}

// kd.teacher names no file: which key, the path as given and absolute, and what makes a teacher.
[[noreturn]] void missing_teacher(const Config& c) {
  namespace fs = std::filesystem;
  const fs::path path(c.kd.teacher);
  std::error_code ec;
  const auto abs = fs::absolute(path, ec).lexically_normal();
  std::string how = "point kd.teacher at a model.pt of a train-teacher run or a PyTorch state_dict file";
  if (path.filename() == "model.pt" && path.has_parent_path()) {
    // A train-teacher run's folder is <run.root>/<run.name>: the command that writes this file.
    const std::string name = path.parent_path().filename().string();
    const std::string root = path.parent_path().parent_path().string();
    const std::string shipped = shipped_teacher_config(name);
    const std::string root_arg = root.empty() || root == Config{}.run.root ? "" : " run.root=" + root;
    how = "train the teacher first: `kdprune train-teacher --config " +
          (shipped.empty() ? "<teacher config> run.name=" + name : shipped) + root_arg + "` writes it (kdprune run trains an experiment's teachers itself), or " + how;
  }
  throw Error("kd.teacher '" + c.kd.teacher + "': not found" + (abs.string() == c.kd.teacher ? "" : " (" + abs.string() + ")") +
              "; " + how);
}

// Before the dataset loads: a teacher the student will need is there. (α from a schedule depends
// on the view's kept fraction, known after loading: the same check runs then.)
void check_teacher_file(const Config& c) {
  if (c.kd.alpha.schedule != "constant") return;
  const auto w = losses::loss_weights(c.kd, c.kd.alpha.value);
  std::error_code ec;
  if ((w.kd != 0.0 || w.extra != 0.0) && !c.kd.teacher.empty() && !std::filesystem::exists(c.kd.teacher, ec))
    missing_teacher(c);
}

// Everything that can fail before a run directory exists: config, teacher, student model.
// `earlier`: the group's students checked before; the first's dataset and view are reused, and a
// teacher loaded from the same file and architecture.
Student check(const CommandOptions& opts, const std::vector<Student>& earlier) {
  Student st;
  st.s = earlier.empty() ? std::make_unique<Session>("distill", opts, check_teacher_file)
                         : std::make_unique<Session>("distill", opts, *earlier.front().s);
  Session& s = *st.s;
  const auto& kd = s.config.kd;
  const double f = s.view.f();
  st.alpha = kd.alpha.at(f);
  st.w = losses::loss_weights(kd, st.alpha);
  const auto& w = st.w;
  const bool needs_teacher = w.kd != 0.0 || w.extra != 0.0;
  if (s.collective())
    for (const auto& [term, weight] : {std::pair{kd.loss, w.kd}, std::pair{kd.extra, w.extra}})
      if (weight != 0.0 && losses::kd_loss_keeps_state(term))
        throw Error("kd loss '" + term + "' keeps per-sample state (memory banks) that data-parallel ranks would update "
                    "apart: distill with it in one process, not under a launcher");

  // The teacher is checked before the run directory exists.
  // α = 0 without an extra term is plain training: a given kd.teacher is neither loaded nor run.
  if (!needs_teacher && !kd.teacher.empty())
    spdlog::info("kd.teacher {} not loaded: alpha = 0 and no extra term (plain cross-entropy training)", kd.teacher);
  const Student* share = nullptr;
  for (const auto& e : earlier)
    if (needs_teacher && e.teacher && e.s->config.kd.teacher == kd.teacher && e.s->config.kd.teacher_arch == kd.teacher_arch)
      share = &e;
  st.teacher_shared = share != nullptr;
  if (share) {
    st.teacher = share->teacher, st.teacher_meta = share->teacher_meta;
  } else if (needs_teacher) {
    if (kd.teacher.empty()) throw Error("kd.teacher: expected the model.pt of a train-teacher run or a PyTorch state_dict file (alpha = " + std::to_string(st.alpha) + " > 0)");
    std::error_code ec;
    if (!std::filesystem::exists(kd.teacher, ec)) missing_teacher(s.config);
    const train::ModelExpectation expect{kd.teacher_arch, "kd.teacher_arch", s.model_spec(), s.data.info.name};
    auto loaded = train::load_model(kd.teacher, s.device, &expect);
    st.teacher_meta = loaded.meta;
    const auto spec = s.model_spec();
    if (st.teacher_meta.spec.in_channels != spec.in_channels || st.teacher_meta.spec.classes != spec.classes)
      throw Error("kd.teacher '" + kd.teacher + "': a " + st.teacher_meta.arch + " for " +
                  std::to_string(st.teacher_meta.spec.in_channels) + " input channels and " +
                  std::to_string(st.teacher_meta.spec.classes) + " classes; dataset " + s.data.info.name + " has " +
                  std::to_string(spec.in_channels) + " and " + std::to_string(spec.classes));
    if (!st.teacher_meta.dataset.empty() && st.teacher_meta.dataset != s.data.info.name)
      throw Error("kd.teacher '" + kd.teacher + "' was trained on " + st.teacher_meta.dataset + ", the student data is " +
                  s.data.info.name);
    st.teacher = loaded.model;
  }
  // The student's initial weights depend on run.seed alone, not on what loading the teacher drew
  // (a shared teacher loads nothing; teachers of other sizes draw differently).
  torch::manual_seed(static_cast<uint64_t>(s.config.run.seed));
  st.student = s.create_model();
  return st;
}

// Opens the run directory, evaluates the teacher, builds the objective, runs the init stage.
// `earlier`: the group's students opened before (a shared teacher's accuracy); `caches`: one
// teacher forward per batch, run before the students' forwards.
void open(Student& st, std::span<const Student> earlier, TeacherCaches* caches) {
  Session& s = *st.s;
  const auto& kd = s.config.kd;
  const double f = s.view.f();
  const auto& w = st.w;
  const bool needs_teacher = w.kd != 0.0 || w.extra != 0.0;
  s.start_run();
  const Student* share = nullptr;
  for (const auto& e : earlier)
    if (st.teacher_shared && e.teacher == st.teacher) share = &e;
  if (share) {
    st.teacher_top1 = share->teacher_top1;
  } else if (st.teacher) {
    const auto te = train::evaluate(*st.teacher, s.data.test, s.data.info, s.config.train.eval_batch_size,
                                    train::autocast_of(s.config.train.amp), false);
    st.teacher_top1 = te.top1;
  }
  if (st.teacher) spdlog::info("teacher {} ({}): test top1 {:.2f}%", st.teacher_meta.arch, kd.teacher, st.teacher_top1);
  // Weights to 6 significant digits: 1 - 0.9 is 0.09999999999999998 in binary, and reads as 0.1.
  spdlog::info("student {}: {} parameters; f = {:.4g}, alpha = {:.4g} ({} schedule), tau = {}, loss {} = {:.6g}*CE + {:.6g}*{}{}",
               s.config.model.arch, models::parameter_count(*st.student), f, st.alpha, kd.alpha.schedule, kd.tau,
               kd.weighting, w.ce, w.kd, kd.loss, kd.extra.empty() ? "" : fmt::format(" + {:.6g}*{}", w.extra, kd.extra));

  const auto spec = s.model_spec();
  const auto& labels = s.data.train.labels;
  const auto view_labels = labels.index_select(0, torch::tensor(s.view.indices, torch::kInt64).to(labels.device()));
  // One cache per teacher file and precision (it holds the outputs of one batch at a time).
  std::shared_ptr<losses::TeacherCache> cache;
  if (caches && needs_teacher) {
    auto& c = (*caches)[kd.teacher + (kd.teacher_arch.empty() ? "" : " (" + kd.teacher_arch + ")") + " amp " +
                        s.config.train.amp.name()];
    if (!c) c = std::make_shared<losses::TeacherCache>();
    cache = c;
  }
  st.objective = losses::distill_objective(needs_teacher ? st.teacher : nullptr, st.student, kd, st.alpha,
                                           s.config.train.amp,
                                           {spec.in_channels, spec.image_size, s.data.train.images.size(3)}, view_labels,
                                           cache);
  if (st.objective.trainable) {
    int64_t trained = 0, frozen = 0;
    for (const auto& p : st.objective.trainable->parameters()) (p.requires_grad() ? trained : frozen) += p.numel();
    spdlog::info("KD loss modules trained with the student: {} parameters{}", trained,
                 frozen ? " (and " + std::to_string(frozen) + " frozen, kept in the checkpoint)" : std::string());
  }
  if (st.objective.init_loss) run_init_stage(s, st.student, st.objective);
}

// The students split into groups that fit train.group_max (the first student's), in order: each
// student's training memory measured once per architecture, batch size and precision.
std::vector<std::vector<size_t>> memory_groups(const std::vector<Student>& students) {
  if (students.size() == 1) return {{0}};
  const Session& first = *students.front().s;
  const std::string& group_max = first.config.train.group_max;
  const int64_t budget = train::group_memory_budget(group_max, first.device);
  std::map<std::string, int64_t> measured;
  std::vector<int64_t> bytes;
  for (const auto& st : students) {
    const auto& c = st.s->config;
    const auto spec = st.s->model_spec();
    const std::string key = c.model.arch + " batch " + std::to_string(c.train.batch_size) + " amp " + c.train.amp.name() +
                            (train::channels_last_on(c.train) ? " channels-last" : "");
    auto it = measured.find(key);
    if (it == measured.end()) {
      const int64_t b = train::training_memory_bytes(c.model.arch, spec, {spec.in_channels, spec.image_size, st.s->data.train.images.size(3)},
                                                     c.train.batch_size, c.train.amp, train::channels_last_on(c.train), first.device);
      it = measured.emplace(key, b).first;
      spdlog::info("one student ({}) trains in about {} on {}", key, train::memory_text(b), first.device.str());
    }
    bytes.push_back(it->second);
  }
  const std::string what = "train.group_max=" + group_max +
                           (group_max == "auto" ? " (90 % of the free memory: " + train::memory_text(budget) + ")" : "");
  auto groups = train::pack_by_memory(bytes, budget, what);
  if (groups.size() > 1)
    spdlog::info("{} students in {} groups that fit {} each ({})", students.size(), groups.size(), train::memory_text(budget), what);
  return groups;
}

nlohmann::json summarize(const Student& st, const train::TrainResult& r) {
  const Session& s = *st.s;
  const auto& kd = s.config.kd;
  nlohmann::json summary = training_summary(s, st.student, r);
  summary["alpha"] = st.alpha;
  summary["alpha_schedule"] = kd.alpha.schedule;
  summary["tau"] = kd.tau;
  summary["kd_loss"] = kd.loss;
  summary["kd_extra"] = kd.extra;
  summary["weighting"] = kd.weighting;
  summary["loss_weights"] = {{"ce", st.w.ce}, {"kd", st.w.kd}, {"extra", st.w.extra}};
  summary["teacher"] = kd.teacher;
  summary["teacher_arch"] = st.teacher ? nlohmann::json(st.teacher_meta.arch) : nlohmann::json(nullptr);
  summary["teacher_top1"] = st.teacher ? nlohmann::json(st.teacher_top1) : nlohmann::json(nullptr);
  s.run().write_summary(summary);
  spdlog::info("done: top1 {:.2f}% (best {:.2f}% at epoch {}{}), alpha {:.4g}, run directory {}", r.final_eval.top1,
               r.best_top1, r.best_epoch, r.best_by_val ? ", chosen by validation" : "", st.alpha, s.run().path());
  return summary;
}

}  // namespace

nlohmann::json distill(const CommandOptions& opts) { return distill_together({opts}).front(); }

std::vector<nlohmann::json> distill_together(const std::vector<CommandOptions>& opts) {
  if (opts.size() > 1 && dist::launch_env().distributed())
    throw Error("distill --alphas: several students train together in one process; under a data-parallel launcher "
                "(RANK/WORLD_SIZE or SLURM_NTASKS > 1 is set) launch one distill per alpha");
  TeacherCaches caches;
  std::vector<Student> students;
  // Every student is checked (and the groups that fit in memory are made) before any run directory is.
  for (const auto& o : opts) students.push_back(check(o, students));
  const auto groups = memory_groups(students);
  // Each student's setup lines in its own log (opening its run directory attaches it).
  for (size_t i = 0; i < students.size(); ++i) {
    const logging::FileScope setup_log;
    open(students[i], std::span<const Student>(students.data(), i), &caches);
  }
  std::vector<train::TrainResult> results(students.size());
  for (const auto& group : groups) {
    std::vector<TrainingJob> jobs;
    for (size_t i : group) {
      auto& st = students[i];
      jobs.push_back({st.s.get(), st.student, st.objective.loss, st.objective.trainable, st.objective.capturable, {},
                      st.objective.prelude});
    }
    // Each run's log gets its own setup and summary lines and, tagged, its group's training lines.
    std::vector<std::string> logs;
    for (size_t i : group) logs.push_back(students[i].s->run().log_path());
    const logging::FileScope group_logs(logs);
    const auto trained = run_training_together(jobs);
    for (size_t k = 0; k < group.size(); ++k) results[group[k]] = trained[k];
  }
  for (const auto& [teacher, c] : caches)
    spdlog::info("{} students trained together; teacher {}: {} forwards, shared", students.size(), teacher, c->forwards);
  std::vector<nlohmann::json> summaries;
  std::string failed;
  for (size_t i = 0; i < students.size(); ++i) {
    const logging::FileScope student_log({students[i].s->run().log_path()});
    if (!results[i].error.empty()) {
      failed += "\n  " + students[i].s->config.run.name + ": " + results[i].error;
      continue;
    }
    summaries.push_back(summarize(students[i], results[i]));
  }
  if (!failed.empty())
    throw Error(std::to_string(summaries.size()) + " of " + std::to_string(students.size()) +
                " students finished; stopped:" + failed);
  return summaries;
}

std::vector<nlohmann::json> distill_alphas(const CommandOptions& opts, const std::vector<std::string>& alphas) {
  if (alphas.empty()) throw Error("--alphas: expected at least one value");
  for (size_t i = 0; i < alphas.size(); ++i) {
    size_t used = 0;
    double v = -1;
    try {
      v = std::stod(alphas[i], &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != alphas[i].size() || !(v >= 0.0))
      throw Error("--alphas: expected comma-separated numbers >= 0, got '" + alphas[i] + "'");
    for (size_t j = 0; j < i; ++j)
      if (std::stod(alphas[j]) == v) throw Error("--alphas: " + alphas[j] + " and " + alphas[i] + " are the same alpha");
  }
  std::string base = load_config(opts.config_path, opts.overrides).run.name;
  if (base.empty() && opts.resume) throw Error("--resume needs run.name: the name of the runs to continue (<run.name>-alpha<a>)");
  if (base.empty()) {  // distill-YYYYMMDD-HHMMSS, as a run without a name
    std::string ts = io::utc_timestamp();
    std::erase_if(ts, [](char c) { return c == '-' || c == ':' || c == 'Z'; });
    std::replace(ts.begin(), ts.end(), 'T', '-');
    base = "distill-" + ts;
  }
  std::vector<CommandOptions> group;
  for (const auto& a : alphas) {
    CommandOptions o = opts;
    o.overrides.push_back("kd.alpha=" + a);
    o.overrides.push_back("run.name=" + base + "-alpha" + a);
    group.push_back(std::move(o));
  }
  return distill_together(group);
}

}  // namespace kdprune::commands
