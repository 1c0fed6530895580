// Loading a config: the YAML file or text, `a.b=c` overrides and fallbacks, path values resolved
// (read and checked by config_read.cpp); the experiment file's split (split_config) and --shard.
#include "kdprune/config/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "config_detail.h"
#include "kdprune/util/error.h"
#include "kdprune/config/key_roles.h"
#include "kdprune/config/path_values.h"
#include "yaml_document.h"

namespace kdprune {
namespace {

using config_detail::check_consistency;
using config_detail::kResolvedHeader;
using config_detail::show;
using config_detail::Sources;

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
  config_yaml::refuse_unbounded(value, "override '" + text + "'");
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
  for (const auto& [value, key] : path_members(c)) resolve(value, key.c_str());  // run.root first
}

Config load_root(YAML::Node root, const std::string& label, const std::vector<std::string>& overrides,
                 const std::vector<std::string>& fallbacks, const std::string& base_dir) {
  Sources sources{label, {}};
  const YAML::Node file_root = YAML::Clone(root);  // before overrides: which paths the file sets
  for (const auto& o : overrides) apply_override(root, o, sources);
  for (const auto& f : fallbacks)
    if (!has_path(root, f.substr(0, f.find('=')))) apply_override(root, f, sources);
  Config config = config_detail::read_config(root, sources);
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
  for (const auto& [value, key] : path_members(resolved)) {
    if (!has_path(root, key)) continue;
    const std::string k = key;
    root[k.substr(0, k.find('.'))][k.substr(k.find('.') + 1)] = *value;
  }
  YAML::Emitter base, sec;
  base << root;
  sec << part;
  return {std::string(kResolvedHeader) + "\n" + base.c_str() + "\n", std::string(sec.c_str()) + "\n"};
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

void keep_started_precision(TrainSection& now, const TrainSection& started) {
  if (now.amp == "auto") now.amp = started.amp;
  if (now.channels_last == "auto") now.channels_last = started.channels_last;
}

}  // namespace kdprune
