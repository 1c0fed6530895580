#include "yaml_document.h"

#include <fstream>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "kdprune/util/error.h"

namespace kdprune::config_yaml {

// yaml-cpp keeps the first of two equal keys and ignores a second document; both are almost
// always editing mistakes, so they are refused with the line of the repeat.
void refuse_duplicates(const YAML::Node& n, const std::string& label) {
  if (n.IsSequence())
    for (const auto& item : n) refuse_duplicates(item, label);
  if (!n.IsMap()) return;
  std::map<std::string, int> first_line;
  for (const auto& kv : n) {
    std::string key = kv.first.Scalar();
    if (!kv.first.IsScalar()) {
      YAML::Emitter e;
      e << YAML::Flow << kv.first;
      key = e.c_str();
    }
    const int line = kv.first.Mark().line + 1;
    if (auto [it, fresh] = first_line.emplace(key, line); !fresh)
      throw Error(label + ":" + std::to_string(line) + ": duplicate key '" + key + "' (first given at line " +
                  std::to_string(it->second) + ")");
    refuse_duplicates(kv.second, label);
  }
}

void refuse_unbounded(const YAML::Node& root, const std::string& label) {
  // Aliases share nodes, so a small file can stand for a huge or cyclic tree ("billion laughs",
  // `a: &a [*a]`), which every later walk would expand; a config is a few hundred nodes.
  constexpr size_t kMaxNodes = 100000;
  constexpr size_t kMaxDepth = 64;
  std::vector<std::pair<YAML::Node, size_t>> todo{{root, 0}};
  size_t seen = 0;
  while (!todo.empty()) {
    auto [n, depth] = todo.back();
    todo.pop_back();
    if (++seen > kMaxNodes)
      throw Error(label + ": the YAML expands to more than " + std::to_string(kMaxNodes) +
                  " values (aliases of aliases?); a config is expected to be far smaller");
    if (depth > kMaxDepth)
      throw Error(label + ": the YAML nests deeper than " + std::to_string(kMaxDepth) +
                  " levels (an alias that contains itself?)");
    if (n.IsMap())
      for (const auto& kv : n) todo.emplace_back(kv.second, depth + 1), todo.emplace_back(kv.first, depth + 1);
    else if (n.IsSequence())
      for (const auto& item : n) todo.emplace_back(item, depth + 1);
  }
}

namespace {
// The 1-based line of a second YAML document in `text` ("---" after content, or content after
// "..."), 0 if there is none. Found by the markers, which YAML only allows at column 0, because
// yaml-cpp's LoadAll hangs on some malformed input (a lone ",", found by fuzzing).
int second_document_line(const std::string& text) {
  bool content = false, ended = false;
  int line_no = 0;
  for (size_t start = 0; start < text.size();) {
    const size_t end = std::min(text.find('\n', start), text.size());
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    auto marker = [&](const char* m) {
      return line.compare(0, 3, m) == 0 && (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    };
    const size_t first = line.find_first_not_of(" \t\r");
    const bool blank = first == std::string::npos || line[first] == '#';
    if (marker("---")) {
      if (content || ended) return line_no;
      content = line.find_first_not_of(" \t\r", 3) != std::string::npos && line[line.find_first_not_of(" \t\r", 3)] != '#';
      continue;
    }
    if (marker("...")) {
      ended = true;
      continue;
    }
    if (blank || (!content && line[0] == '%')) continue;  // comments, directives
    if (ended) return line_no;
    content = true;
  }
  return 0;
}

}  // namespace

YAML::Node parse_document(const std::string& text, const std::string& label) {
  if (const int line = second_document_line(text))
    throw Error(label + ":" + std::to_string(line) + ": a second YAML document ('---'); a config file holds one");
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw Error(label + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                ": YAML syntax error: " + e.msg);
  }
  if (!root || root.IsNull()) return YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw Error(label + ": expected a mapping of sections (run, data, model, train, kd, prune, score)");
  refuse_unbounded(root, label);
  refuse_duplicates(root, label);
  return root;
}

YAML::Node load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("config file '" + path + "': cannot open (does it exist?)");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error("config file '" + path + "': cannot read");
  return parse_document(text.str(), path);
}

}  // namespace kdprune::config_yaml
