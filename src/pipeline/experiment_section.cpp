// Reading the `experiment` section of a kdprune run file: every key checked and named in errors,
// pruner entries, path values by the config rule (the stages are planned in experiment_plan.cpp).
#include "kdprune/pipeline/experiment.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "kdprune/config/path_values.h"
#include "kdprune/config/config.h"
#include "kdprune/config/key_roles.h"
#include "kdprune/prune/pruner_registry.h"
#include "kdprune/prune/sampling.h"
#include "kdprune/util/error.h"

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
    refuse_repeats(key, out, [](const T& v) { return text_of(v); });
    return out;
  }
  // Each value of an experiment list makes its own stages: a repeated one would plan the same
  // stage twice (and then meet its own run lock), so it is refused, naming the value.
  template <class T, class F> void refuse_repeats(const std::string& key, const std::vector<T>& values, F text) const {
    for (size_t i = 0; i < values.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (text(values[i]) == text(values[j]))
          throw Error(where(key) + ": '" + text(values[i]) + "' is listed twice (each entry makes its own stages; list it once)");
  }
  static std::string text_of(const std::string& v) { return v; }
  static std::string text_of(double v) { return format_number(v); }
  static std::string text_of(int64_t v) { return std::to_string(v); }
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
  // Checked now, so --dry-run finds a missing file too, not the prune stage hours later.
  if (!p.scores.empty() && !std::filesystem::is_regular_file(p.scores))
    throw Error(sec.where("pruners") + ": scores file '" + p.scores + "' of pruner " + p.name +
                " not found (expected a .npy or text file of per-sample scores)");
  // A computed score needs a known method; a score file may carry any label.
  if (p.scores.empty()) {
    const prune::PrunerEntry* known = prune::find_pruner(p.name);
    if (!known || known->label_only) {
      std::string names;
      for (const auto& r : prune::pruner_registry())
        if (!r.label_only) names += (names.empty() ? "" : ", ") + r.name;
      sec.fail("pruners", "a pruner (" + names + "), or {name: LABEL, scores: FILE}", n);
    }
  }
  if (p.level != "hard" && p.level != "easy" && p.level != "moderate")
    sec.fail("pruners", "level hard, easy or moderate", n);
  const auto& rules = prune::sampling_registry();
  const bool known_rule = std::any_of(rules.begin(), rules.end(), [&](const auto& r) { return r.name == p.sampling; });
  if (p.sampling != "auto" && !known_rule) sec.fail("pruners", "sampling auto, " + prune::sampling_names_or(), n);
  if (!(p.cutoff >= 0.0 && p.cutoff < 1.0)) sec.fail("pruners", "cutoff in [0, 1)", n);
  if (p.score_free() && p.sampling != "auto" && p.sampling != prune::score_free_sampling().name)
    sec.fail("pruners", "sampling only for score-based pruners", n);
  return p;
}

// experiment.axes / teacher_axes: {dotted.key: [values]} (or nested: {kd: {tau: [2, 4]}}). Each key
// must be a config key that changes what a stage computes and that kdprune run does not set
// itself; each value must load as that key.
std::vector<Axis> read_axes(Section& sec, const std::string& name, const std::string& base_yaml, const std::string& file,
                            bool teacher) {
  const YAML::Node n = sec.get(name);
  std::vector<Axis> axes;
  if (!n.IsDefined()) return axes;
  if (!n.IsMap()) sec.fail(name, "a mapping of config keys to lists of values (e.g. kd.tau: [2, 4, 6])", n);
  std::vector<std::pair<std::string, YAML::Node>> flat;
  std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& m, const std::string& prefix) {
    for (const auto& kv : m) {
      const std::string key = prefix + kv.first.Scalar();
      if (kv.second.IsMap()) walk(kv.second, key + ".");
      else flat.emplace_back(key, kv.second);
    }
  };
  walk(n, "");
  for (const auto& entry : flat) {
    const std::string& key = entry.first;  // not a structured binding: the lambda below captures it
    const YAML::Node& values = entry.second;
    const std::string at = name + "." + key;
    const auto& table = key_table();
    const auto info = std::find_if(table.begin(), table.end(), [&](const KeyInfo& k) { return k.key == key; });
    if (info == table.end()) throw Error(sec.where(name) + ": '" + key + "' is no config key (kdprune config --help lists them; docs/config.md)");
    if (const std::string instead = experiment_key_instead(key, teacher); !instead.empty())
      throw Error(sec.where(name) + ": '" + key + "' is set by kdprune run in every " + (teacher ? "teacher" : "student") +
                  " stage; use " + instead);
    if (info->roles & key_role::run_only)
      throw Error(sec.where(name) + ": '" + key + "' changes how a stage runs, not what it computes; set it once, not as an axis");
    if (!values.IsSequence() || values.size() == 0) sec.fail(at, "a non-empty list of values for " + key, values);
    Axis axis{key, {}};
    for (const auto& v : values) {
      const std::string text = flow(v);
      try {
        load_config_text(base_yaml, file, {key + "=" + text});
      } catch (const Error& err) {
        throw Error(sec.where(name) + ": " + key + " value '" + text + "' is not valid (" + err.what() + ")");
      }
      axis.values.push_back(text);
    }
    sec.refuse_repeats(name, axis.values, [](const std::string& x) { return x; });
    axes.push_back(std::move(axis));
  }
  return axes;
}

}  // namespace

std::string axis_label(const std::string& key, const std::string& value) {
  std::string v;
  for (char c : value) v += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  const std::string last = key.substr(key.rfind('.') + 1);
  return last + (!v.empty() && (std::isdigit(static_cast<unsigned char>(v[0])) || v[0] == '.' || v[0] == '-') ? "" : "-") + v;
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
                                          "group_students", "axes", "teacher_axes"};
  e.name = sec.list<std::string>("name", "a directory name", non_empty, {base.run.name}).front();
  if (e.name.empty() || e.name.find('/') != std::string::npos)
    throw Error(sec.where("name") + ": expected a directory name (or run.name), got '" + e.name + "'");
  e.root = base.run.root;
  e.seeds = sec.list<int64_t>("seeds", "a list of non-negative integers", any_seed, {base.run.seed});
  e.base_seed = base.run.seed;
  e.data_from_seed = base.data.name == "synthetic" && base.data.synthetic.seed < 0;
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
                                       any_seed, {64}).front();
  e.fractions = sec.list<double>("fractions", "a list of kept fractions in (0, 1]", is_fraction, {});
  if (e.fractions.empty()) sec.fail("fractions", "a list of kept fractions in (0, 1]", YAML::Node(YAML::NodeType::Undefined));
  if (const YAML::Node p = sec.get("pruners"); p.IsDefined()) {
    if (p.IsSequence() && p.size() == 0) sec.fail("pruners", "at least one pruner (e.g. [random])", p);
    if (p.IsSequence()) for (const auto& item : p) e.pruners.push_back(read_pruner(item, sec));
    else e.pruners.push_back(read_pruner(p, sec));
    sec.refuse_repeats("pruners", e.pruners, [](const PrunerSpec& x) { return x.label(); });
  } else {
    e.pruners.push_back(PrunerSpec{.name = "random", .scores = ""});
  }
  if (const YAML::Node a = sec.get("alphas"); a.IsDefined()) {
    if (a.IsSequence() && a.size() == 0) sec.fail("alphas", "at least one alpha (e.g. [0, 0.5])", a);
    if (a.IsSequence()) for (const auto& item : a) e.alphas.push_back(flow(item));
    else e.alphas.push_back(flow(a));
    // 0.5 and 0.50 are one alpha.
    sec.refuse_repeats("alphas", e.alphas, [](const std::string& x) {
      char* end = nullptr;
      const double v = std::strtod(x.c_str(), &end);
      return end && *end == '\0' && !x.empty() ? format_number(v) : x;
    });
  } else {
    e.alphas = {"0", flow(YAML::Load(format_number(base.kd.alpha.value)))};
    e.alphas_from_base = true;
  }
  e.axes = read_axes(sec, "axes", e.base_yaml, path, false);
  e.teacher_axes = read_axes(sec, "teacher_axes", e.base_yaml, path, true);
  // An axis key also set for every stage of its kind would be overridden by the axis: refused.
  for (const auto& [axes, overrides, name] : {std::tuple{&e.axes, &e.student_overrides, "student"},
                                              std::tuple{&e.teacher_axes, &e.teacher_overrides, "teacher"}})
    for (const auto& a : *axes)
      for (const auto& o : *overrides)
        if (o.rfind(a.key + "=", 0) == 0)
          throw Error(sec.where(name) + ": " + a.key + " is also an axis (experiment." + (std::string(name) == "student" ? "axes" : "teacher_axes") +
                      "); set it in one place");
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

}  // namespace kdprune::pipeline
