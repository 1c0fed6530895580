#pragma once
// Logging set-up: one default spdlog logger whose console sink (stderr) is added at start-up and
// whose file sink is added when a run directory opens. Library code calls spdlog::info etc.
#include <cstdint>
#include <string>

namespace kdprune::logging {

void init(const std::string& level);  // trace|debug|info|warn|error
void attach_file(const std::string& path);
void detach_files();  // drops file sinks (tests open several runs in one process)
// Data-parallel runs: every line, console and files, says "[rank r/W]".
void set_rank(int64_t rank, int64_t world);

}  // namespace kdprune::logging
