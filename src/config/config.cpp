// YAML loading, `a.b=c` overrides, validation and the resolved-config writer, all driven by the
// declarations in schema.h.
#include "kdprune/config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <utility>

#include "kdprune/util/error.h"
#include "path_values.h"
#include "schema.h"
#include "yaml_document.h"

namespace kdprune {
namespace {
// The first line of every resolved config: loading such a file keeps its paths as they are.
constexpr const char* kResolvedHeader =
    "# kdprune resolved config: relative paths here are relative to the directory kdprune ran in";
}  // namespace

namespace {

using config_rules::Rule;

// Where a key's value came from, for error messages: the file, or the override that set it.
struct Sources {
  std::string file;                              // "" when no --config was given
  std::map<std::string, std::string> overrides;  // key path -> "a.b=c" as typed

  std::string where(const std::string& path) const {
    // The override that set this path or one of its parents wins over the file.
    for (std::string p = path;;) {
      if (auto it = overrides.find(p); it != overrides.end()) return "override '" + it->second + "'";
      auto dot = p.rfind('.');
      if (dot == std::string::npos) break;
      p.resize(dot);
    }
    return (file.empty() ? std::string("config") : file) + ": " + path;
  }
};

std::string show(const YAML::Node& n) {
  if (!n) return "nothing";
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsNull()) return "nothing";
  YAML::Emitter e;
  e << YAML::Flow << n;
  return std::string(e.c_str());
}

template <class T> const char* type_name();
template <> const char* type_name<std::string>() { return "a string"; }
template <> const char* type_name<int64_t>() { return "an integer"; }
template <> const char* type_name<double>() { return "a number"; }
template <> const char* type_name<bool>() { return "true or false"; }
template <> const char* type_name<std::vector<int64_t>>() { return "a list of integers"; }
template <> [[maybe_unused]] const char* type_name<std::vector<double>>() { return "a list of numbers"; }

template <class T> bool convert_scalar(const YAML::Node& n, T& out) {
  if (!n.IsScalar()) return false;
  try {
    out = n.as<T>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}
bool convert(const YAML::Node& n, std::string& out) {
  if (n.IsNull()) { out.clear(); return true; }
  if (!n.IsScalar()) return false;
  out = n.Scalar();
  return true;
}
bool convert(const YAML::Node& n, int64_t& out) { return convert_scalar(n, out); }
// Numbers must be finite: .inf/.nan in a learning rate or temperature is never meant.
bool convert(const YAML::Node& n, double& out) { return convert_scalar(n, out) && std::isfinite(out); }
bool is_non_finite(const YAML::Node& n) {
  double v = 0;
  return n.IsScalar() && convert_scalar(n, v) && !std::isfinite(v);
}
bool convert(const YAML::Node& n, bool& out) { return convert_scalar(n, out); }
template <class T> bool convert(const YAML::Node& n, std::vector<T>& out) {
  if (!n.IsSequence()) return false;
  std::vector<T> v(n.size());
  for (size_t i = 0; i < n.size(); ++i)
    if (!convert(n[i], v[i])) return false;
  out = std::move(v);
  return true;
}

// Reads one mapping into a struct, checking types and rules, then refuses keys it did not know.
class Reader {
 public:
  Reader(YAML::Node node, std::string path, const Sources& sources)
      : node_(std::move(node)), path_(std::move(path)), sources_(sources) {}

  template <class T> void field(const char* key, T& member, const Rule<T>& rule = {}) {
    known_.push_back(key);
    if (!node_.IsMap()) return;
    const YAML::Node n = std::as_const(node_)[key];  // const: a lookup must not insert
    if (!n) return;
    T value{};
    if (!convert(n, value) || (rule.ok && !rule.ok(value))) {
      std::string expect = rule.expect.empty() ? type_name<T>() : rule.expect;
      if (is_non_finite(n)) expect = "a finite number (" + expect + ")";
      throw Error(sources_.where(join(key)) + ": expected " + expect + ", got " + show(n));
    }
    member = std::move(value);
  }

  void field(const char* key, AlphaSpec& member) {
    known_.push_back(key);
    if (!node_.IsMap()) return;
    const YAML::Node n = std::as_const(node_)[key];
    if (!n) return;
    member = read_alpha(n, join(key));
  }

  template <class S> void section(const char* key, S& sub) {
    known_.push_back(key);
    YAML::Node child;
    if (node_.IsMap()) {
      const YAML::Node found = std::as_const(node_)[key];
      // "data:" with nothing under it means defaults
      if (found && !found.IsNull()) {
        if (!found.IsMap())
          throw Error(sources_.where(join(key)) + ": expected a mapping of keys, got " + show(found));
        child.reset(found);
      }
    }
    Reader r(child, join(key), sources_);
    config_schema::describe(r, sub);
    r.refuse_unknown();
  }

  AlphaSpec read_alpha(const YAML::Node& n, const std::string& path) const {
    const std::string where = sources_.where(path);
    const std::string forms =
        "a number >= 0, {schedule: linear, at_f: [f1, f2], value: [a1, a2]} or {schedule: table, points: [[f, a], ...]}";
    AlphaSpec a;
    if (n.IsScalar()) {
      if (!convert(n, a.value) || a.value < 0)
        throw Error(where + ": expected " + (is_non_finite(n) ? "a finite number: " : "") + forms + ", got " + show(n));
      return a;
    }
    if (!n.IsMap()) throw Error(where + ": expected " + forms + ", got " + show(n));
    for (const auto& kv : n) {
      const std::string k = kv.first.Scalar();
      if (k != "schedule" && k != "at_f" && k != "value" && k != "points")
        throw Error(sources_.where(path + "." + k) + ": unknown key (expected one of: schedule, at_f, value, points)");
    }
    if (!n["schedule"] || !convert(n["schedule"], a.schedule) ||
        (a.schedule != "linear" && a.schedule != "table" && a.schedule != "constant"))
      throw Error(sources_.where(path + ".schedule") + ": expected one of constant, linear, table, got " + show(n["schedule"]));
    auto fail = [&](const std::string& key, const std::string& expect, const YAML::Node& got) {
      throw Error(sources_.where(path + "." + key) + ": expected " + expect + ", got " + show(got));
    };
    if (a.schedule == "constant") {
      if (!n["value"] || !convert(n["value"], a.value) || a.value < 0) fail("value", "a number >= 0", n["value"]);
      return a;
    }
    if (a.schedule == "linear") {
      if (!n["at_f"] || !convert(n["at_f"], a.at_f) || a.at_f.size() != 2)
        fail("at_f", "two kept fractions [f1, f2] with f1 < f2 in (0, 1]", n["at_f"]);
      if (!n["value"] || !convert(n["value"], a.values) || a.values.size() != 2)
        fail("value", "two alphas [a1, a2] >= 0", n["value"]);
    } else {
      const YAML::Node pts = n["points"];
      if (!pts || !pts.IsSequence() || pts.size() == 0) fail("points", "a list of [f, alpha] pairs", pts);
      for (const auto& p : pts) {
        std::vector<double> pair;
        if (!convert(p, pair) || pair.size() != 2) fail("points", "a list of [f, alpha] pairs", pts);
        a.at_f.push_back(pair[0]);
        a.values.push_back(pair[1]);
      }
    }
    for (size_t i = 0; i < a.at_f.size(); ++i) {
      if (a.at_f[i] <= 0 || a.at_f[i] > 1 || (i && a.at_f[i] <= a.at_f[i - 1]))
        fail(a.schedule == "linear" ? "at_f" : "points", "kept fractions in (0, 1], strictly increasing",
             n[a.schedule == "linear" ? "at_f" : "points"]);
      if (a.values[i] < 0) fail(a.schedule == "linear" ? "value" : "points", "alphas >= 0", n[a.schedule == "linear" ? "value" : "points"]);
    }
    a.value = a.values.front();
    return a;
  }

  void refuse_unknown() const {
    if (!node_.IsMap()) return;
    for (const auto& kv : node_) {
      const std::string key = kv.first.Scalar();
      if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
      std::string list;
      for (size_t i = 0; i < known_.size(); ++i) list += (i ? ", " : "") + known_[i];
      throw Error(sources_.where(join(key)) + ": unknown key (expected one of: " + list + ")");
    }
  }

 private:
  std::string join(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  YAML::Node node_;
  std::string path_;
  const Sources& sources_;
  std::vector<std::string> known_;
};

std::string shortest(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, end);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // keep it a float in YAML
  return s;
}

// Writes a struct back as YAML in declaration order.
class Writer {
 public:
  explicit Writer(YAML::Emitter& out) : out_(out) {}
  template <class T> void field(const char* key, const T& member, const Rule<T>& = {}) {
    out_ << YAML::Key << key << YAML::Value;
    emit(member);
  }
  void field(const char* key, const AlphaSpec& a) {
    out_ << YAML::Key << key << YAML::Value;
    if (a.schedule == "constant") {
      emit(a.value);
      return;
    }
    out_ << YAML::BeginMap << YAML::Key << "schedule" << YAML::Value << a.schedule;
    if (a.schedule == "linear") {
      out_ << YAML::Key << "at_f" << YAML::Value;
      emit(a.at_f);
      out_ << YAML::Key << "value" << YAML::Value;
      emit(a.values);
    } else {
      out_ << YAML::Key << "points" << YAML::Value << YAML::BeginSeq;
      for (size_t i = 0; i < a.at_f.size(); ++i) emit(std::vector<double>{a.at_f[i], a.values[i]});
      out_ << YAML::EndSeq;
    }
    out_ << YAML::EndMap;
  }

  template <class S> void section(const char* key, S& sub) {
    out_ << YAML::Key << key << YAML::Value << YAML::BeginMap;
    config_schema::describe(*this, sub);
    out_ << YAML::EndMap;
  }

 private:
  void emit(const std::string& s) {
    if (s.empty()) out_ << YAML::DoubleQuoted << "";
    else out_ << YAML::DoubleQuoted << s;
  }
  void emit(int64_t v) { out_ << v; }
  void emit(bool v) { out_ << (v ? "true" : "false"); }
  void emit(double v) { out_ << shortest(v); }
  template <class T> void emit(const std::vector<T>& v) {
    out_ << YAML::Flow << YAML::BeginSeq;
    for (const auto& x : v) emit(x);
    out_ << YAML::EndSeq;
  }
  YAML::Emitter& out_;
};

void apply_override(YAML::Node& root, const std::string& text, Sources& sources) {
  const auto eq = text.find('=');
  const std::string key = text.substr(0, eq);
  if (eq == std::string::npos || key.empty() || key.front() == '.' || key.back() == '.' ||
      key.find("..") != std::string::npos)
    throw Error("override '" + text + "': expected section.key=value");
  YAML::Node value;
  try {
    value = YAML::Load(text.substr(eq + 1));
  } catch (const YAML::ParserException& e) {
    throw Error("override '" + text + "': the value is not valid YAML (" + e.msg + ")");
  }
  config_yaml::refuse_duplicates(value, "override '" + text + "'");
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    auto dot = key.find('.', start);
    parts.push_back(key.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  YAML::Node cur = root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!cur[parts[i]] || !cur[parts[i]].IsMap()) cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
    YAML::Node next = cur[parts[i]];
    cur.reset(next);
  }
  cur[parts.back()] = value;
  sources.overrides[key] = text;
}

// Rules that involve more than one key.
void check_consistency(const Config& c, const Sources& s) {
  if (!c.data.subset.empty() && c.data.fraction < 1.0)
    throw Error(s.where("data.fraction") + ": expected 1 when data.subset is given (the subset file already fixes the kept samples)");
  if (c.data.part != "all" && c.data.split <= 0.0)
    throw Error(s.where("data.part") + ": expected 'all' unless data.split (the teacher share) is > 0");
  if (c.data.split > 0.0 && c.data.part == "all")
    throw Error(s.where("data.split") + ": expected data.part=teacher or data.part=student with a split");
  if (c.kd.weighting == "convex") {
    const auto& a = c.kd.alpha;
    const double top = a.values.empty() ? a.value : *std::max_element(a.values.begin(), a.values.end());
    if (top > 1.0)
      throw Error(s.where("kd.alpha") + ": expected alphas in [0, 1] with kd.weighting=convex ((1-a)*CE + a*KD); "
                  "use kd.weighting=repdistiller for larger weights");
  }
  if (!c.kd.extra.empty() && c.kd.weighting != "repdistiller")
    throw Error(s.where("kd.extra") + ": an extra loss term needs kd.weighting=repdistiller (gamma*CE + alpha*KD + beta*extra)");
  if (c.data.fraction < 1.0 && c.prune.fraction < 1.0)
    throw Error(s.where("prune.fraction") + ": expected 1 when data.fraction < 1 (give the kept fraction once)");
  if (!c.data.subset.empty() && c.prune.fraction < 1.0)
    throw Error(s.where("prune.fraction") + ": expected 1 when data.subset is given (the subset file already fixes the kept samples)");
  if (c.train.warmup_epochs > c.train.epochs)
    throw Error(s.where("train.warmup_epochs") + ": expected at most train.epochs (" + std::to_string(c.train.epochs) + ")");
}

bool has_path(const YAML::Node& root, const std::string& key) {
  YAML::Node cur = root;
  for (size_t start = 0;;) {
    const auto dot = key.find('.', start);
    if (!cur.IsMap()) return false;
    const YAML::Node next = std::as_const(cur)[key.substr(start, dot - start)];
    if (!next) return false;
    cur.reset(next);
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

namespace {
// Every path-valued key, run.root first (the others may name it as ${run.root}).
std::vector<std::pair<std::string*, const char*>> path_fields(Config& c) {
  return {{&c.run.root, "run.root"},         {&c.data.root, "data.root"},
          {&c.data.subset, "data.subset"},   {&c.kd.teacher, "kd.teacher"},
          {&c.model.init, "model.init"},     {&c.prune.scores, "prune.scores"},
          {&c.prune.scores_order, "prune.scores_order"}, {&c.prune.aum, "prune.aum"},
          {&c.prune.mean_prob, "prune.mean_prob"},       {&c.prune.model, "prune.model"},
          {&c.score.outcomes_dir, "score.outcomes_dir"}};
}

// Path values: `~` and $VARS expanded; `${run.root}` is run.root's value; a relative path written
// in the config file is relative to that file's directory (so a config means the same files from
// any working directory), one given as an override or left at its default relative to the
// current directory, as the shell's own arguments are.
void expand_paths(Config& c, const Sources& s, const YAML::Node& file_root, const std::string& base_dir) {
  namespace fs = std::filesystem;
  const bool from_file = !base_dir.empty();
  const fs::path file_dir = base_dir;
  auto resolve = [&](std::string* value, const char* key) {
    std::string v = *value;
    if (std::string(key) != "run.root")
      for (size_t at; (at = v.find("${run.root}")) != std::string::npos;) v.replace(at, 11, c.run.root);
    v = config_paths::expand_path(v, s.where(key));
    const bool set_in_file = s.where(key).rfind("override", 0) != 0 && has_path(file_root, key);
    if (!v.empty() && from_file && set_in_file && fs::path(v).is_relative() &&
        (*value)[0] != '$' && (*value)[0] != '~')  // `${run.root}/x`, `$DIR/x`: relative to where those are
      v = (file_dir / v).lexically_normal().string();
    *value = v;
  };
  for (const auto& [value, key] : path_fields(c)) resolve(value, key);  // run.root first
}

Config load_root(YAML::Node root, const std::string& label, const std::vector<std::string>& overrides,
                 const std::vector<std::string>& fallbacks, const std::string& base_dir) {
  Sources sources{label, {}};
  const YAML::Node file_root = YAML::Clone(root);  // before overrides: which paths the file sets
  for (const auto& o : overrides) apply_override(root, o, sources);
  for (const auto& f : fallbacks)
    if (!has_path(root, f.substr(0, f.find('=')))) apply_override(root, f, sources);
  Config config;
  Reader reader(root, "", sources);
  config_schema::describe(reader, config);
  reader.refuse_unknown();
  expand_paths(config, sources, file_root, base_dir);
  check_consistency(config, sources);
  return config;
}
}  // namespace

std::string config_dir(const std::string& path) {
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  if (!in && !in.eof()) return "";
  if (first.rfind(kResolvedHeader, 0) == 0) return "";
  std::error_code ec;
  return std::filesystem::absolute(path, ec).parent_path().string();
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides,
                   const std::vector<std::string>& fallbacks) {
  if (path.empty()) return load_root(YAML::Node(YAML::NodeType::Map), path, overrides, fallbacks, "");
  // A resolved config (a run's config.yaml, `kdprune config` output) keeps its paths as resolved;
  // any other file's relative paths are relative to its folder.
  return load_root(config_yaml::load_file(path), path, overrides, fallbacks, config_dir(path));
}

Config load_config_text(const std::string& yaml, const std::string& label, const std::vector<std::string>& overrides,
                        const std::string& relative_to) {
  return load_root(config_yaml::parse_document(yaml, label), label, overrides, {}, relative_to);
}

SplitConfig split_config(const std::string& path, const std::string& section, const std::vector<std::string>& overrides) {
  YAML::Node root = config_yaml::load_file(path);
  Sources sources{path, {}};
  YAML::Node part(YAML::NodeType::Map);
  if (const YAML::Node found = std::as_const(root)[section]; found && !found.IsNull()) {
    if (!found.IsMap()) throw Error(path + ": " + section + ": expected a mapping of keys, got " + show(found));
    part = YAML::Clone(found);
  }
  root.remove(section);
  const YAML::Node file_root = YAML::Clone(root);
  std::vector<std::string> base_overrides;
  const std::string prefix = section + ".";
  for (const auto& o : overrides) {
    if (o.rfind(prefix, 0) == 0) {
      YAML::Node wrapper(YAML::NodeType::Map);
      wrapper[section] = part;
      apply_override(wrapper, o, sources);
      part = wrapper[section];
    } else {
      apply_override(root, o, sources);
      base_overrides.push_back(o);
    }
  }
  // The base goes on as text (every stage's config): its path values are resolved here, where it
  // is known which came from the file (relative to it) and which from overrides, and the text is
  // marked as resolved.
  Config resolved = load_root(file_root, path, base_overrides, {}, config_dir(path));
  for (const auto& [value, key] : path_fields(resolved)) {
    if (!has_path(root, key)) continue;
    const std::string k = key;
    root[k.substr(0, k.find('.'))][k.substr(k.find('.') + 1)] = *value;
  }
  YAML::Emitter base, sec;
  base << root;
  sec << part;
  return {std::string(kResolvedHeader) + "\n" + base.c_str() + "\n", std::string(sec.c_str()) + "\n"};
}

std::string to_yaml(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  Writer w(out);
  config_schema::describe(w, const_cast<Config&>(config));
  out << YAML::EndMap;
  return std::string(kResolvedHeader) + "\n" + out.c_str() + "\n";
}

Shard parse_shard(const std::string& text) {
  if (text.empty()) return {};
  const auto slash = text.find('/');
  if (slash == std::string::npos) return {-1, 0};
  Shard s;
  const char* b = text.data();
  const char* e = b + text.size();
  const auto r1 = std::from_chars(b, b + slash, s.index);
  const auto r2 = std::from_chars(b + slash + 1, e, s.count);
  if (r1.ec != std::errc() || r1.ptr != b + slash || r2.ec != std::errc() || r2.ptr != e || !s.valid()) return {-1, 0};
  return s;
}

}  // namespace kdprune
