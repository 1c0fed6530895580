#include "kdprune/io/run_dir.h"

#include <spdlog/spdlog.h>

#include <ctime>
#include <filesystem>

#include "kdprune/config/key_roles.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/io/remove_tree.h"
#include "kdprune/util/error.h"
#include "kdprune/util/logging.h"
#include "kdprune/version.h"

namespace kdprune::io {
namespace fs = std::filesystem;

namespace {
std::string format_now(const char* fmt) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}
}  // namespace

std::string utc_timestamp() { return format_now("%Y-%m-%dT%H:%M:%SZ"); }

struct RunDir::Unstarted {
  explicit Unstarted(std::string d) : dir(std::move(d)) {}
  Unstarted(const Unstarted&) = delete;
  Unstarted& operator=(const Unstarted&) = delete;
  ~Unstarted() {
    std::error_code ec;
    for (const char* progress : {"summary.json", "checkpoint.pt", "memorization"})
      if (fs::exists(fs::path(dir) / progress, ec)) return;
    io::remove_tree(dir, ec);
  }
  std::string dir;
};

RunDir::RunDir(std::string path, std::string name, std::string command)
    : path_(std::move(path)), name_(std::move(name)), command_(std::move(command)),
      started_(std::chrono::steady_clock::now()), started_at_(utc_timestamp()) {}

bool RunDir::is_finished(const std::string& dir) { return fs::exists(fs::path(dir) / "summary.json"); }

namespace {
std::string checked_name(const RunSection& run, const std::string& command) {
  std::string name = run.name.empty() ? command + "-" + format_now("%Y%m%d-%H%M%S") : run.name;
  if (name.find('/') != std::string::npos || name == "." || name == ".." || name.find('\0') != std::string::npos)
    throw Error("run.name '" + name + "': expected a plain directory name (no '/')");
  // NAME_MAX is 255 bytes; the lock file adds ".<name>.lock".
  if (name.size() > 240)
    throw Error("run.name: expected a directory name of at most 240 characters, got " + std::to_string(name.size()));
  return name;
}
// The directory holds nothing but temporaries of its config.yaml's atomic write (config.yaml.tmp.<pid>):
// a start killed between creating the directory and renaming its config into place.
bool only_config_temporaries(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind("config.yaml.tmp.", 0) != 0) return false;
  return !ec;
}
void ensure_root(const std::string& root) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec || !fs::is_directory(root, ec))
    throw Error("run.root '" + root + "': cannot create or use as a directory" + (ec ? ": " + ec.message() : ""));
}
}  // namespace

RunDir RunDir::create(const Config& config, const std::string& command, bool force) {
  const RunSection& run = config.run;
  const std::string name = checked_name(run, command);
  ensure_root(run.root);
  auto lock = RunLock::acquire(run.root, name);
  const fs::path dir = fs::path(run.root) / name;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    const bool finished = is_finished(dir.string());
    if (!force && finished)
      throw Error("run directory '" + dir.string() +
                  "' already exists (a finished run); choose another run.name, or pass --force to delete it and start over");
    if (!force)
      throw Error("run directory '" + dir.string() + "' already exists (an unfinished run); pass --resume to continue it " +
                  (fs::exists(dir / "checkpoint.pt", ec) ? "from its checkpoint" : "(it saved no checkpoint yet)") +
                  ", choose another run.name, or pass --force to delete it and start over");
    // --force deletes only what kdprune made: a run directory holds the config.yaml it wrote first
    // (or, when a start was killed before that, nothing or only that write's temporary file).
    if (!fs::is_directory(dir, ec) || (!fs::exists(dir / "config.yaml", ec) && !only_config_temporaries(dir)))
      throw Error("'" + dir.string() + "' exists but is not a kdprune run directory (no config.yaml); --force deletes "
                  "only run directories kdprune made: move it away or choose another run.name");
    io::remove_tree(dir.string(), ec);
    if (ec) throw Error("run directory '" + dir.string() + "': cannot remove for --force: " + ec.message());
  }
  fs::create_directories(dir, ec);
  if (ec) throw Error("run directory '" + dir.string() + "': cannot create: " + ec.message());
  // From here the directory goes again unless the run saves progress: also when writing its
  // config.yaml fails (a full disk).
  auto unstarted = std::make_shared<Unstarted>(dir.string());
  write_file_atomic((dir / "config.yaml").string(), to_yaml(config));
  RunDir r(dir.string(), name, command);
  r.lock_ = std::move(lock);
  r.unstarted_ = std::move(unstarted);
  return r;
}

namespace {
// Why `now` is not `started` trained longer ("" when it is): only train.epochs may grow, and
// train.milestones may change only at or past the started length (epochs the run has trained
// keep the rate they had), so a multistep run grown this way equals one started at the new length.
std::string extension_problem(const Config& started, const Config& now) {
  const auto& a = started.train;
  const auto& b = now.train;
  if (b.epochs <= a.epochs) return "train.epochs can only grow on --resume (the run's schedule is " + std::to_string(a.epochs) + " epochs)";
  Config grown = started;
  grown.train.epochs = b.epochs, grown.train.milestones = b.milestones;
  if (to_yaml(grown) != to_yaml(now)) return "only train.epochs (and later train.milestones) may change when training longer";
  std::vector<int64_t> before_a, before_b;
  for (int64_t m : a.milestones)
    if (m < a.epochs) before_a.push_back(m);
  for (int64_t m : b.milestones)
    if (m < a.epochs) before_b.push_back(m);
  if (before_a != before_b)
    return "train.milestones below " + std::to_string(a.epochs) + " (epochs already trained) must stay as they were";
  return {};
}
}  // namespace

RunDir RunDir::reopen(const Config& config, const std::string& command) {
  const RunSection& run = config.run;
  if (run.name.empty()) throw Error("--resume needs run.name: the name of the run to continue");
  const std::string name = checked_name(run, command);
  const fs::path dir = fs::path(run.root) / name;
  std::error_code ec;
  if (!fs::exists(dir, ec))
    throw Error("--resume: there is no run '" + dir.string() + "' to continue (check run.name and run.root), or drop "
                "--resume to start it");
  auto lock = RunLock::acquire(run.root, name);
  const bool finished = is_finished(dir.string());
  const std::string want = to_yaml(config);
  Config started;
  std::string have;
  try {
    // Run-only keys (threads, logging, checkpoint cadence, ...) may change between the start and
    // the resume: they change how the run goes on, not what it is (config/key_roles.h).
    started = read_config((dir / "config.yaml").string());
    copy_keys(started, config, key_role::run_only);
    have = to_yaml(started);
  } catch (const Error& e) {
    throw Error("run '" + dir.string() + "': its config.yaml cannot be read (" + e.what() +
                "); it cannot be resumed (use --force to start over)");
  }
  // Training longer: train.epochs grown (and milestones the run has not reached yet) is the only
  // difference. The remaining epochs follow the schedule of the new length (docs/training.md).
  const int64_t had = started.train.epochs;
  const std::string longer = have == want ? "" : extension_problem(started, config);
  const bool extends = have != want && longer.empty();
  if (finished && have == want)
    throw Error("run '" + dir.string() + "' already finished (summary.json exists); nothing to resume (to train it "
                "longer: --resume train.epochs=N, N > " + std::to_string(had) + ")");
  if (have != want && !extends) {
    const bool other_keys = longer.rfind("only train.epochs", 0) == 0;
    if (config.train.epochs != had && !other_keys)
      throw Error("--resume train.epochs=" + std::to_string(config.train.epochs) + ": " + longer);
    if (other_keys) {  // name the other key, not the length
      started.train.epochs = config.train.epochs, started.train.milestones = config.train.milestones;
      have = to_yaml(started);
    }
    // name the first differing line so the user sees which key changed
    size_t a = 0, b = 0;
    std::string la, lb;
    while (a < have.size() || b < want.size()) {
      const size_t ea = have.find('\n', a), eb = want.find('\n', b);
      la = have.substr(a, ea - a);
      lb = want.substr(b, eb - b);
      if (la != lb) break;
      a = ea == std::string::npos ? have.size() : ea + 1;
      b = eb == std::string::npos ? want.size() : eb + 1;
    }
    throw Error("--resume: the config differs from " + (dir / "config.yaml").string() + " (run has '" + la +
                "', now '" + lb + "'); resume with the same config, or pick a new run.name");
  }
  if (extends) {
    // The finished result stays beside the longer run (summary.json moves first: its presence
    // marks a finished run), then config.yaml records the new length.
    const std::string tag = ".epochs" + std::to_string(had);
    if (finished) {
      if (fs::exists(dir / "model.pt")) fs::copy_file(dir / "model.pt", dir / ("model" + tag + ".pt"), fs::copy_options::overwrite_existing);
      fs::rename(dir / "summary.json", dir / ("summary" + tag + ".json"));
    }
    write_file_atomic((dir / "config.yaml").string(), want);
    spdlog::info("--resume: training {} longer, {} -> {} epochs{}", dir.string(), had, config.train.epochs,
                 finished ? " (its " + std::to_string(had) + "-epoch result stays as summary" + tag + ".json and model" + tag + ".pt)" : "");
  }
  // A kill can leave temporaries of atomic writes behind; they are never complete files.
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) fs::remove(e.path(), ec);
  RunDir r(dir.string(), run.name, command);
  r.resumed_ = true;
  r.lock_ = std::move(lock);
  return r;
}

// Read back through the schema, so keys added since the run started (at their defaults) do not
// block its --resume. Every config.yaml kdprune wrote holds its paths as resolved, relative to the
// directory kdprune ran in: also those written before the header line that says so (which
// load_config would read relative to the run directory instead).
Config RunDir::read_config(const std::string& path) { return load_config_text(read_file(path), path, {}, ""); }

std::optional<Config> RunDir::started_config(const Config& config, const std::string& command) {
  if (config.run.name.empty()) return std::nullopt;
  try {
    const fs::path path = fs::path(config.run.root) / checked_name(config.run, command) / "config.yaml";
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::nullopt;
    return read_config(path.string());
  } catch (const Error&) {
    return std::nullopt;
  }
}

RunDir RunDir::follow(const std::string& path, const std::string& command, bool resumed, int64_t rank) {
  if (!std::filesystem::is_directory(path)) throw Error("rank " + std::to_string(rank) + ": run directory '" + path +
                                                        "' is not visible here (ranks need a shared file system)");
  RunDir r(path, std::filesystem::path(path).filename().string(), command);
  r.resumed_ = resumed;
  r.follower_rank_ = rank;
  return r;
}

std::string RunDir::log_path() const {
  return file(follower_rank_ < 0 ? "log.txt" : "log.rank" + std::to_string(follower_rank_) + ".txt");
}

void RunDir::attach_log() const { logging::attach_file(log_path()); }

void RunDir::write_summary(nlohmann::json summary) const {
  if (follower_rank_ >= 0) return;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  summary["command"] = command_;
  summary["run_name"] = name_;
  summary["wall_seconds"] = wall;
  summary["started_at"] = started_at_;
  summary["finished_at"] = utc_timestamp();
  summary["versions"]["kdprune"] = KDPRUNE_VERSION;
  summary["versions"]["git_commit"] = git_commit();
  write_file_atomic(file("summary.json"), summary.dump(2) + "\n");
}

}  // namespace kdprune::io
