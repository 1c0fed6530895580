#pragma once
// Logging set-up: one default spdlog logger whose console sink (stderr) is added at start-up and
// whose file sink is added when a run directory opens. Library code calls spdlog::info etc.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kdprune::logging {

void init(const std::string& level);  // trace|debug|info|warn|error
void attach_file(const std::string& path);
void detach_files();  // drops file sinks (tests open several runs in one process)
// Data-parallel runs: every line, console and files, says "[rank r/W]".
void set_rank(int64_t rank, int64_t world);

// The log's files for a scope: on entry exactly `paths` (besides the console; none = console
// only), on exit the files of before, however the scope ends (an exception included). What a
// command run inside attaches is dropped with the scope. Scopes nest.
class FileScope {
 public:
  explicit FileScope(const std::vector<std::string>& paths = {});
  ~FileScope();
  FileScope(const FileScope&) = delete;
  FileScope& operator=(const FileScope&) = delete;

 private:
  struct Saved;
  std::unique_ptr<Saved> saved_;
};

}  // namespace kdprune::logging
