#pragma once
// Path values of a config as a shell would have expanded them (it does not in `data.root=~/data`).
#include <string>

namespace kdprune::config_paths {

// A leading `~` (or `~/`) becomes $HOME; $VAR and ${VAR} anywhere become the variable's value;
// a lone '$' stays. An unset variable throws kdprune::Error starting with `where` (the key).
std::string expand_path(const std::string& value, const std::string& where);

}  // namespace kdprune::config_paths
