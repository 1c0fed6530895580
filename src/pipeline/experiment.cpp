// Reading the `experiment` section of a kdprune run file and turning it into stages.
#include "kdprune/pipeline/experiment.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "../config/path_values.h"
#include "kdprune/config/config.h"
#include "kdprune/prune/selection.h"
#include "kdprune/prune/stratified.h"
#include "kdprune/util/error.h"
#include "kdprune/util/hash.h"

namespace kdprune::pipeline {
namespace {

std::string flow(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

// Reads the experiment mapping; every error names the file and the key.
class Section {
 public:
  Section(YAML::Node node, std::string file, const std::vector<std::string>& overrides)
      : node_(std::move(node)), file_(std::move(file)), overrides_(overrides) {
    for (const auto& kv : node_) keys_.insert(kv.first.Scalar());
  }
  // The override that set experiment.<key> (or a key below it), else the file.
  std::string where(const std::string& key) const {
    const std::string path = "experiment." + key;
    for (auto it = overrides_.rbegin(); it != overrides_.rend(); ++it)
      if (it->rfind(path + "=", 0) == 0 || it->rfind(path + ".", 0) == 0) return "override '" + *it + "'";
    return file_ + ": " + path;
  }
  // A path value of the section, by the config rule: `~`/$VARS expanded, and relative to the
  // file's directory when the file (not an override) gave it.
  std::string path_value(const std::string& key, const std::string& value) const {
    namespace fs = std::filesystem;
    std::string v = config_paths::expand_path(value, where(key));
    const std::string dir = config_dir(file_);
    if (!v.empty() && fs::path(v).is_relative() && value[0] != '$' && value[0] != '~' &&
        where(key).rfind("override", 0) != 0 && !dir.empty())
      v = (fs::path(dir) / v).lexically_normal().string();
    return v;
  }
  [[noreturn]] void fail(const std::string& key, const std::string& expected, const YAML::Node& got) const {
    throw Error(where(key) + ": expected " + expected + ", got " + (got.IsDefined() ? "'" + flow(got) + "'" : "nothing"));
  }
  YAML::Node get(const std::string& key) {
    used_.insert(key);
    const YAML::Node n = std::as_const(node_)[key];
    return n && !n.IsNull() ? n : YAML::Node(YAML::NodeType::Undefined);
  }
  template <class T> std::vector<T> list(const std::string& key, const std::string& expected, bool (*ok)(const T&),
                                         std::vector<T> fallback) {
    const YAML::Node n = get(key);
    if (!n.IsDefined()) return fallback;
    const YAML::Node seq = n.IsSequence() ? n : [&] { YAML::Node s(YAML::NodeType::Sequence); s.push_back(n); return s; }();
    std::vector<T> out;
    for (const auto& item : seq) {
      T v{};
      try {
        v = item.as<T>();
      } catch (const YAML::Exception&) {
        fail(key, expected, n);
      }
      if (!ok(v)) fail(key, expected, n);
      out.push_back(v);
    }
    if (out.empty()) fail(key, expected, n);
    return out;
  }
  // A mapping of config overrides, dotted ("train.epochs: 3") or nested ("train: {epochs: 3}").
  std::vector<std::string> overrides(const std::string& key) {
    const YAML::Node n = get(key);
    std::vector<std::string> out;
    if (!n.IsDefined()) return out;
    if (!n.IsMap()) fail(key, "a mapping of config keys (e.g. model.arch: resnet8)", n);
    flatten(n, "", out);
    return out;
  }
  void refuse_unknown(const std::vector<std::string>& known) const {
    for (const auto& k : keys_)
      if (!used_.count(k)) {
        std::string list;
        for (const auto& x : known) list += (list.empty() ? "" : ", ") + x;
        throw Error(where(k) + ": unknown key (expected one of: " + list + ")");
      }
  }

 private:
  static void flatten(const YAML::Node& n, const std::string& prefix, std::vector<std::string>& out) {
    for (const auto& kv : n) {
      const std::string key = prefix + kv.first.Scalar();
      if (kv.second.IsMap() && key != "kd.alpha") flatten(kv.second, key + ".", out);
      else out.push_back(key + "=" + flow(kv.second));
    }
  }
  YAML::Node node_;
  std::string file_;
  std::vector<std::string> overrides_;
  std::set<std::string> keys_, used_;
};

bool is_fraction(const double& f) { return f > 0.0 && f <= 1.0; }
bool is_share(const double& f) { return f >= 0.0 && f < 1.0; }
bool non_empty(const std::string& s) { return !s.empty(); }
bool any_seed(const int64_t& s) { return s >= 0; }

PrunerSpec read_pruner(const YAML::Node& n, Section& sec) {
  PrunerSpec p;
  if (n.IsScalar()) {
    p.name = n.Scalar();
  } else if (n.IsMap()) {
    for (const auto& kv : n) {
      const std::string k = kv.first.Scalar();
      if (k == "name") p.name = kv.second.Scalar();
      else if (k == "level") p.level = kv.second.Scalar();
      else if (k == "class_balanced") p.class_balanced = kv.second.as<bool>(false);
      else if (k == "scores") p.scores = sec.path_value("pruners", kv.second.Scalar());
      else if (k == "sampling") p.sampling = kv.second.Scalar();
      else if (k == "cutoff") p.cutoff = kv.second.as<double>(-1.0);
      else sec.fail("pruners", "entries with keys name, level, class_balanced, scores, sampling, cutoff", n);
    }
    if (!n["level"] && p.name == "moderate") p.level = "moderate";
  } else {
    sec.fail("pruners", "a pruner name or {name, level, class_balanced, scores}", n);
  }
  if (n.IsScalar() && p.name == "moderate") p.level = "moderate";
  if (p.name.empty()) sec.fail("pruners", "every entry to have a name", n);
  // A computed score needs a known method; a score file may carry any label.
  if (p.scores.empty()) {
    const auto& reg = prune::pruner_registry();
    auto selection_only = [](const std::string& name) { return name == "scores" || name == "ccs" || name == "d2"; };
    if (selection_only(p.name) || std::none_of(reg.begin(), reg.end(), [&](const auto& r) { return r.name == p.name; })) {
      std::string names;
      for (const auto& r : reg)
        if (!selection_only(r.name)) names += (names.empty() ? "" : ", ") + r.name;
      sec.fail("pruners", "a pruner (" + names + "), or {name: LABEL, scores: FILE}", n);
    }
  }
  if (p.level != "hard" && p.level != "easy" && p.level != "moderate")
    sec.fail("pruners", "level hard, easy or moderate", n);
  if (p.sampling != "auto" && p.sampling != "topk" && p.sampling != "ccs" && p.sampling != "beta" && p.sampling != "d2")
    sec.fail("pruners", "sampling auto, topk, ccs, beta or d2", n);
  if (!(p.cutoff >= 0.0 && p.cutoff < 1.0)) sec.fail("pruners", "cutoff in [0, 1)", n);
  if (p.score_free() && p.sampling != "auto" && p.sampling != "topk")
    sec.fail("pruners", "sampling only for score-based pruners", n);
  return p;
}

std::string alpha_label(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end && *end == '\0' && !text.empty()) return "a" + format_number(v);
  return "a" + hex64(fnv1a64(text)).substr(0, 6);  // a schedule: a short content hash
}

bool alpha_is_zero(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  return end && *end == '\0' && !text.empty() && v == 0.0;
}

}  // namespace

std::string format_number(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string PrunerSpec::label() const {
  const std::string default_level = name == "moderate" ? "moderate" : "hard";
  std::string s = name;
  if (!score_free() && level != default_level) s += "-" + level;
  if (class_balanced && name != "class_balanced_random") s += "-cb";
  // auto is the default; top-k is too, except for DUAL, whose auto means Beta sampling at f <= 0.5.
  if (sampling != "auto" && (sampling != "topk" || name == "dual")) s += "-" + sampling + (cutoff > 0 ? format_number(cutoff) : "");
  return s;
}

const char* command_of(StageKind kind) {
  switch (kind) {
    case StageKind::teacher: return "train-teacher";
    case StageKind::score: return "score";
    case StageKind::prune: return "prune";
    case StageKind::student: return "distill";
  }
  return "";
}

const char* kind_name(StageKind kind) {
  switch (kind) {
    case StageKind::teacher: return "teacher";
    case StageKind::score: return "score";
    case StageKind::prune: return "prune";
    case StageKind::student: return "student";
  }
  return "";
}

Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides) {
  const SplitConfig split = split_config(path, "experiment", overrides);
  Experiment e;
  e.file = path;
  e.base_yaml = split.base_yaml;
  const Config base = load_config_text(split.base_yaml, path, {});  // the base must be a valid config
  Section sec(YAML::Load(split.section_yaml), path, overrides);
  const std::vector<std::string> known = {"name", "seeds", "teacher", "teacher_archs", "teacher_models", "teacher_fractions",
                                          "disjoint_split", "teacher_part", "score", "pruners", "fractions", "alphas", "student",
                                          "group_students"};
  e.name = sec.list<std::string>("name", "a directory name", non_empty, {base.run.name}).front();
  if (e.name.empty() || e.name.find('/') != std::string::npos)
    throw Error(sec.where("name") + ": expected a directory name (or run.name), got '" + e.name + "'");
  e.root = base.run.root;
  e.seeds = sec.list<int64_t>("seeds", "a list of non-negative integers", any_seed, {base.run.seed});
  e.base_seed = base.run.seed;
  e.teacher_overrides = sec.overrides("teacher");
  e.score_overrides = sec.overrides("score");
  e.student_overrides = sec.overrides("student");
  e.teacher_archs = sec.list<std::string>("teacher_archs", "a list of model names", non_empty, {});
  e.teacher_models = sec.list<std::string>("teacher_models", "a list of model.pt files", non_empty, {});
  for (auto& m : e.teacher_models) m = sec.path_value("teacher_models", m);
  if (!e.teacher_models.empty() && !e.teacher_archs.empty())
    throw Error(sec.where("teacher_models") + ": expected either teacher_models (existing teachers) or "
                "teacher_archs (teachers trained here), not both");
  for (const auto& m : e.teacher_models)
    if (!std::filesystem::exists(m))
      throw Error(sec.where("teacher_models") + ": '" + m + "' not found (expected a model.pt of a train-teacher run)");
  e.teacher_fractions = sec.list<double>("teacher_fractions", "a list of fractions in (0, 1]", is_fraction, {1.0});
  e.disjoint_split = sec.list<double>("disjoint_split", "the teachers' share in [0, 1)", is_share, {0.0}).front();
  e.teacher_part = sec.list<std::string>("teacher_part", "teacher or student", non_empty, {"teacher"}).front();
  if (e.teacher_part != "teacher" && e.teacher_part != "student")
    sec.fail("teacher_part", "teacher (disjoint from the students) or student (the students' own part)",
             YAML::Node(e.teacher_part));
  e.group_students = sec.list<int64_t>("group_students", "a non-negative integer (students trained together; 0 or 1: one at a time)",
                                       any_seed, {8}).front();
  e.fractions = sec.list<double>("fractions", "a list of kept fractions in (0, 1]", is_fraction, {});
  if (e.fractions.empty()) sec.fail("fractions", "a list of kept fractions in (0, 1]", YAML::Node(YAML::NodeType::Undefined));
  if (const YAML::Node p = sec.get("pruners"); p.IsDefined()) {
    if (p.IsSequence()) for (const auto& item : p) e.pruners.push_back(read_pruner(item, sec));
    else e.pruners.push_back(read_pruner(p, sec));
  } else {
    e.pruners.push_back(PrunerSpec{.name = "random", .scores = ""});
  }
  if (const YAML::Node a = sec.get("alphas"); a.IsDefined()) {
    if (a.IsSequence()) for (const auto& item : a) e.alphas.push_back(flow(item));
    else e.alphas.push_back(flow(a));
  } else {
    e.alphas = {"0", flow(YAML::Load(format_number(base.kd.alpha.value)))};
    e.alphas_from_base = true;
  }
  sec.refuse_unknown(known);
  if (e.teacher_archs.empty() && e.teacher_models.empty()) e.teacher_archs.push_back(load_config_text(e.base_yaml, path, e.teacher_overrides).model.arch);
  // Every stage config must load: check the alphas (and any override) now, not mid-experiment.
  for (const auto& a : e.alphas) {
    try {
      load_config_text(e.base_yaml, path, {"kd.alpha=" + a});
    } catch (const Error& err) {
      throw Error(sec.where("alphas") + ": alpha " + a + " is not a valid kd.alpha (" + err.what() + ")");
    }
  }
  return e;
}

std::vector<Stage> plan(const Experiment& e) {
  std::vector<Stage> stages;
  const std::string root = "run.root=" + e.dir();
  auto add = [&](StageKind kind, const std::string& name, std::vector<std::string> extra,
                 const std::vector<std::string>& user, std::vector<size_t> inputs = {}, std::string scores = {}) {
    // The stage's own keys win; the user's same keys are dropped so each key appears once.
    std::vector<std::string> o;
    auto key_of = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
    for (const auto& u : user)
      if (std::none_of(extra.begin(), extra.end(), [&](const auto& x) { return key_of(x) == key_of(u); })) o.push_back(u);
    o.insert(o.end(), extra.begin(), extra.end());
    o.push_back(root);
    o.push_back("run.name=" + name);
    stages.push_back({kind, name, std::move(o), std::move(scores), std::move(inputs)});
    return stages.size() - 1;
  };
  std::vector<std::string> teacher_part, student_part;
  if (e.disjoint_split > 0) {
    teacher_part = {"data.split=" + format_number(e.disjoint_split), "data.part=" + e.teacher_part};
    student_part = {"data.split=" + format_number(e.disjoint_split), "data.part=student"};
  }

  // Teachers: every architecture at every f_t (only needed when some alpha is not 0), or the
  // given model files, named by their run directory.
  struct Teacher { std::string key; std::optional<size_t> stage; std::string model; };
  std::vector<Teacher> teachers;
  const bool any_kd = std::any_of(e.alphas.begin(), e.alphas.end(), [](const auto& a) { return !alpha_is_zero(a); });
  for (const auto& m : e.teacher_models) {
    const std::filesystem::path p(m);
    std::string key = p.has_parent_path() ? p.parent_path().filename().string() : p.stem().string();
    teachers.push_back({key, std::nullopt, m});
  }
  if (any_kd)
    for (const auto& arch : e.teacher_archs)
      for (double ft : e.teacher_fractions) {
        const std::string key = arch + (ft < 1.0 ? "-ft" + format_number(ft) : "");
        std::vector<std::string> o = {"model.arch=" + arch, "data.fraction=" + format_number(ft), "data.subset=",
                                      "prune.fraction=1"};
        o.insert(o.end(), teacher_part.begin(), teacher_part.end());
        const size_t t = add(StageKind::teacher, "teacher-" + key, o, e.teacher_overrides);
        teachers.push_back({key, t, e.dir() + "/" + stages[t].name + "/model.pt"});
      }

  // Scores: one stage per score method that no file provides.
  std::map<std::string, size_t> score_stage;
  for (const auto& p : e.pruners)
    if (!p.score_free() && p.scores.empty() && !score_stage.count(p.name))
    {
      // Scores are computed on the pool the students select from (their part of a disjoint split).
      std::vector<std::string> o = {"score.method=" + p.name, "data.fraction=1", "data.subset=", "prune.fraction=1"};
      o.insert(o.end(), student_part.begin(), student_part.end());
      score_stage[p.name] = add(StageKind::score, "score-" + p.name, o, e.score_overrides);
    }

  for (double f : e.fractions) {
    // f = 1 keeps everything: one set of students, pruner "none".
    std::vector<const PrunerSpec*> pruners;
    static const PrunerSpec none{.name = "none", .scores = ""};
    if (f >= 1.0) pruners.push_back(&none);
    else for (const auto& p : e.pruners) pruners.push_back(&p);
    for (const PrunerSpec* p : pruners) {
      for (int64_t seed : e.seeds) {
        // The subset: drawn per seed where the selection samples (random, CCS, Beta); top-k and
        // D2 subsets are a function of the scores alone, one for every seed.
        std::optional<size_t> subset;
        // The sampling is spelled out (auto resolved here), so the stage's config says what it does.
        const std::string sampling =
            p == &none ? "" : p->sampling == "auto" ? prune::auto_sampling(p->name == "dual", f, p->level, p->class_balanced) : p->sampling;
        const bool seeded = p != &none && (p->score_free() || sampling == "ccs" || sampling == "beta");
        if (p != &none && (seeded || seed == e.seeds.front())) {
          const std::string name = "prune-" + p->label() + "-f" + format_number(f) + (seeded ? "-s" + std::to_string(seed) : "");
          std::vector<std::string> o = {"prune.fraction=" + format_number(f),
                                        std::string("prune.class_balanced=") + (p->class_balanced ? "true" : "false"),
                                        "data.fraction=1", "data.subset=", "run.seed=" + std::to_string(seed)};
          o.push_back("prune.sampling=" + (p->score_free() ? std::string("topk") : sampling));
          if (!p->score_free()) {
            o.push_back("prune.level=" + p->level);
            o.push_back("prune.cutoff=" + format_number(p->cutoff));
          }
          o.insert(o.end(), student_part.begin(), student_part.end());
          if (e.disjoint_split > 0 && seed != e.base_seed) o.push_back("data.split_seed=" + std::to_string(e.base_seed));
          std::vector<size_t> in;
          std::string scores = p->scores;
          if (seeded) o.push_back("prune.seed=" + std::to_string(seed));
          if (p->score_free()) {
            o.push_back("prune.method=" + p->name);
          } else if (scores.empty()) {
            in.push_back(score_stage.at(p->name));
            scores = e.dir() + "/" + stages[in.back()].name + "/scores.npy";
          }
          if (sampling == "d2") {
            // D2's graph uses the embeddings of the first teacher.
            if (teachers.empty())
              throw Error(e.file + ": experiment.pruners: d2 sampling needs a model for its kNN graph: give "
                          "teacher_models, or an alpha > 0 so that a teacher is trained");
            o.push_back("prune.model=" + teachers.front().model);
            if (teachers.front().stage) in.push_back(*teachers.front().stage);
          }
          subset = add(StageKind::prune, name, o, {}, in, scores);
        } else if (p != &none) {
          const std::string name = "prune-" + p->label() + "-f" + format_number(f);
          for (size_t i = 0; i < stages.size(); ++i)
            if (stages[i].name == name) subset = i;
        }
        for (const auto& alpha : e.alphas) {
          const bool kd = !alpha_is_zero(alpha);
          const size_t n_teachers = kd ? teachers.size() : 1;
          for (size_t t = 0; t < n_teachers; ++t) {
            std::string name = "student-" + p->label() + "-f" + format_number(f) + "-" + alpha_label(alpha);
            if (kd) name += "-" + teachers[t].key;
            name += "-s" + std::to_string(seed);
            std::vector<std::string> o = {"run.seed=" + std::to_string(seed), "kd.alpha=" + alpha, "prune.fraction=1",
                                          "data.fraction=1"};
            std::vector<size_t> in;
            o.push_back(kd ? "kd.teacher=" + teachers[t].model : std::string("kd.teacher="));
            if (kd && teachers[t].stage) in.push_back(*teachers[t].stage);
            if (subset) {
              o.push_back("data.subset=" + e.dir() + "/" + stages[*subset].name + "/subset.npy");
              in.push_back(*subset);
            } else {
              o.push_back("data.subset=");
            }
            o.insert(o.end(), student_part.begin(), student_part.end());
            // Every seed's students split the data as the teachers and scores did (the base seed).
            if (e.disjoint_split > 0 && seed != e.base_seed) o.push_back("data.split_seed=" + std::to_string(e.base_seed));
            add(StageKind::student, name, o, e.student_overrides, in);
          }
        }
      }
    }
  }
  return stages;
}

std::string command_line(const Stage& stage, const std::string& base_yaml_path) {
  auto quote = [](const std::string& s) {
    if (s.find_first_of(" '\"[]{}*?$&|;<>()\\") == std::string::npos) return s;
    std::string q = "'";
    for (char c : s) {
      if (c == '\'') q.append("'\\''");
      else q.push_back(c);
    }
    return q + "'";
  };
  std::string line = std::string("kdprune ") + command_of(stage.kind) + " --config " + quote(base_yaml_path);
  if (!stage.scores_file.empty()) line.append(" --scores ").append(quote(stage.scores_file));
  for (const auto& o : stage.overrides) line.append(" ").append(quote(o));
  return line;
}

}  // namespace kdprune::pipeline
