// Reading a YAML tree into a Config: each key's type and rule (schema.h), alpha schedules and
// unknown keys refused; then the rules that involve more than one key.
#include "kdprune/config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "config_detail.h"
#include "kdprune/util/error.h"
#include "schema.h"

namespace kdprune::config_detail {
namespace {

using config_rules::Rule;

template <class T> const char* type_name();
template <> const char* type_name<std::string>() { return "a string"; }
template <> const char* type_name<int64_t>() { return "an integer"; }
template <> const char* type_name<double>() { return "a number"; }
template <> const char* type_name<bool>() { return "true or false"; }
template <> const char* type_name<std::vector<int64_t>>() { return "a list of integers"; }
template <> [[maybe_unused]] const char* type_name<std::vector<double>>() { return "a list of numbers"; }

template <class T> std::string expected_words() {
  if constexpr (requires { T::expected(); }) return T::expected();
  else return type_name<T>();
}

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
template <class E> bool convert(const YAML::Node& n, Choice<E>& out) {
  // YAML reads true/false as words too: channels_last: true is the name "true".
  if (!n.IsScalar() || !Choice<E>::known(n.Scalar())) return false;
  out = Choice<E>(n.Scalar());
  return true;
}
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

  template <class T> void field(const char* key, T& member, const Rule<T>& rule = {}, unsigned roles = 0) {
    known_.push_back(key);
    if (!node_.IsMap()) return;
    const YAML::Node n = std::as_const(node_)[key];  // const: a lookup must not insert
    if (!n) return;
    T value{};
    if (!convert(n, value) || (rule.ok && !rule.ok(value))) {
      std::string expect = rule.expect.empty() ? expected_words<T>() : rule.expect;
      if (is_non_finite(n)) expect = "a finite number (" + expect + ")";
      throw Error(sources_.where(join(key)) + ": expected " + expect + ", got " + show(n));
    }
    // OmegaConf users write ${section.key}; kdprune expands only $ENV_VARS, in paths: anything
    // else would be kept as literal text (a directory named "${run.root}").
    if constexpr (std::is_same_v<T, std::string>)
      if (!(roles & key_role::path) && value.find("${") != std::string::npos)
        throw Error(sources_.where(join(key)) + ": '" + value + "': ${...} interpolation is not supported (only "
                    "$ENV_VARS and ~ in path values); write the value itself");
    member = std::move(value);
  }

  void field(const char* key, AlphaSpec& member, unsigned /*roles*/ = 0) {
    known_.push_back(key);
    if (!node_.IsMap()) return;
    const YAML::Node n = std::as_const(node_)[key];
    if (!n) return;
    member = read_alpha(n, join(key));
  }

  template <class S> void section(const char* key, S& sub, unsigned /*roles*/ = 0) {
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
      // A `kdprune run` file handed to a command (or to `kdprune config`) says where it belongs.
      const std::string hint = path_.empty() && key == "experiment"
                                   ? "; this is an experiment file: plan it with `kdprune run --config FILE --dry-run`, run it "
                                     "with `kdprune run --config FILE`"
                                   : "";
      throw Error(sources_.where(join(key)) + ": unknown key (expected one of: " + list + ")" + hint);
    }
  }

 private:
  std::string join(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  YAML::Node node_;
  std::string path_;
  const Sources& sources_;
  std::vector<std::string> known_;
};

}  // namespace

std::string show(const YAML::Node& n) {
  if (!n) return "nothing";
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsNull()) return "nothing";
  YAML::Emitter e;
  e << YAML::Flow << n;
  return std::string(e.c_str());
}

Config read_config(const YAML::Node& root, const Sources& sources) {
  Config config;
  Reader reader(root, "", sources);
  config_schema::describe(reader, config);
  reader.refuse_unknown();
  return config;
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

}  // namespace kdprune::config_detail
