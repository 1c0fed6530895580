#pragma once
// A run directory <root>/<name>: config.yaml (resolved), log.txt, metrics.csv, summary.json and
// the run's artifacts. Every file is written through a temporary name and renamed; summary.json
// is written last, so its presence marks a finished run.
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kdprune/config/config.h"
#include "kdprune/io/run_lock.h"

namespace kdprune::io {

class RunDir {
 public:
  // Locks the run (see run_lock.h), creates the directory and writes config.yaml. An existing
  // directory (finished or not) is refused unless `force`, which deletes it first. An empty
  // run.name becomes "<command>-<YYYYmmdd-HHMMSS>". If anything fails, the directory it created
  // is removed again, so a failed start never blocks a rerun; so is one whose command fails before
  // it saved any progress. --force deletes only a directory kdprune made (one with config.yaml).
  static RunDir create(const Config& config, const std::string& command, bool force);
  // For --resume: locks and re-opens <root>/<name> of an unfinished run whose config.yaml equals
  // `config`. Refuses a missing or finished run, a different config, or an empty run.name.
  static RunDir reopen(const Config& config, const std::string& command);
  // The config.yaml of the run `config` names (run.root/run.name) as reopen reads it; nullopt
  // where there is none to read (no run.name, no directory, an unreadable file: reopen says why).
  static std::optional<Config> started_config(const Config& config, const std::string& command);
  // A config.yaml kdprune wrote, read back through the schema with its paths as resolved (keys
  // added since, at their defaults); kdprune::Error naming the file where it cannot be read.
  static Config read_config(const std::string& path);
  // Data-parallel ranks other than 0: the run directory rank 0 opened, written by rank 0 alone;
  // this rank logs to log.rank<r>.txt there and writes nothing else (write_summary does nothing).
  static RunDir follow(const std::string& path, const std::string& command, bool resumed, int64_t rank);

  const std::string& path() const { return path_; }
  const std::string& name() const { return name_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

  void attach_log() const;                        // log.txt gets everything the console gets
  std::string log_path() const;                   // that file (log.rank<r>.txt on a follower rank)
  // summary.json: the given fields plus command, wall_seconds, started_at, finished_at,
  // kdprune version and git commit.
  void write_summary(nlohmann::json summary) const;

  static bool is_finished(const std::string& dir);  // has summary.json
  bool resumed() const { return resumed_; }

 private:
  RunDir(std::string path, std::string name, std::string command);
  std::string path_, name_, command_;
  std::chrono::steady_clock::time_point started_;
  std::string started_at_;
  bool resumed_ = false;
  int64_t follower_rank_ = -1;  // follow(): this rank
  std::shared_ptr<RunLock> lock_;  // held as long as any copy of this RunDir lives
  // create(): when the last copy goes (the command ended, or an error unwound it) before the run
  // saved anything worth keeping (summary.json, checkpoint.pt, memorization/), the directory is
  // removed, so a run refused after its start leaves nothing that would need --force. Declared
  // after lock_: removed while the lock is still held.
  struct Unstarted;
  std::shared_ptr<Unstarted> unstarted_;
};

std::string utc_timestamp();  // ISO 8601, seconds

}  // namespace kdprune::io
