// The resolved-config writer: a Config back as YAML, every key in schema.h's declaration order,
// under the resolved-config header.
#include "kdprune/config/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <string>
#include <vector>

#include "config_detail.h"
#include "schema.h"

namespace kdprune {
namespace {

using config_detail::kResolvedHeader;
using config_rules::Rule;

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
  template <class T> void field(const char* key, const T& member, const Rule<T>& = {}, unsigned = 0) {
    out_ << YAML::Key << key << YAML::Value;
    emit(member);
  }
  void field(const char* key, const AlphaSpec& a, unsigned = 0) {
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

  template <class S> void section(const char* key, S& sub, unsigned = 0) {
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
  template <class E> void emit(const Choice<E>& c) { emit(c.name()); }  // as the string it was
  void emit(bool v) { out_ << (v ? "true" : "false"); }
  void emit(double v) { out_ << shortest(v); }
  template <class T> void emit(const std::vector<T>& v) {
    out_ << YAML::Flow << YAML::BeginSeq;
    for (const auto& x : v) emit(x);
    out_ << YAML::EndSeq;
  }
  YAML::Emitter& out_;
};

}  // namespace

std::string to_yaml(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  Writer w(out);
  config_schema::describe(w, const_cast<Config&>(config));
  out << YAML::EndMap;
  return std::string(kResolvedHeader) + "\n" + out.c_str() + "\n";
}

}  // namespace kdprune
