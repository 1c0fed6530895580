#pragma once
// Logging set-up: one default spdlog logger whose console sink (stderr) is added at start-up and
// whose file sink is added when a run directory opens. Library code calls spdlog::info etc.
#include <string>

namespace kdprune::logging {

void init(const std::string& level);  // trace|debug|info|warn|error
void attach_file(const std::string& path);
void detach_files();  // drops file sinks (tests open several runs in one process)

}  // namespace kdprune::logging
