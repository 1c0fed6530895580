#pragma once
// Reading one YAML config document: syntax errors with line and column, and the two editing
// mistakes yaml-cpp passes silently refused: a repeated key and a second document.
#include <yaml-cpp/yaml.h>

#include <string>

namespace kdprune::config_yaml {

// The root mapping of `text` (an empty document is an empty mapping); `label` names it in errors.
YAML::Node parse_document(const std::string& text, const std::string& label);
YAML::Node load_file(const std::string& path);
// Throws kdprune::Error when aliases make the tree cyclic, deeper than 64 levels or larger than
// 100,000 values, before anything walks it recursively.
void refuse_unbounded(const YAML::Node& root, const std::string& label);
// Throws kdprune::Error naming the line of the first key repeated within one mapping.
void refuse_duplicates(const YAML::Node& node, const std::string& label);

}  // namespace kdprune::config_yaml
