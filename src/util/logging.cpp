#include "kdprune/util/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "kdprune/util/error.h"

namespace kdprune::logging {
namespace {
std::string rank_tag;  // "[rank r/W] " in data-parallel runs
std::string console_pattern() { return "[%H:%M:%S] %^%l%$ " + rank_tag + "%v"; }
std::string file_pattern() { return "[%Y-%m-%d %H:%M:%S.%e] %l " + rank_tag + "%v"; }
std::shared_ptr<spdlog::logger> logger() {
  auto l = spdlog::get("kdprune");
  if (!l) {
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    console->set_pattern(console_pattern());
    l = std::make_shared<spdlog::logger>("kdprune", console);
    spdlog::register_logger(l);
    spdlog::set_default_logger(l);
  }
  return l;
}
}  // namespace

void init(const std::string& level) {
  auto l = logger();
  const auto lvl = spdlog::level::from_str(level);
  l->set_level(lvl);
  l->sinks().front()->set_level(lvl);
}

void attach_file(const std::string& path) {
  auto l = logger();
  try {
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
    file->set_pattern(file_pattern());
    file->set_level(l->level());
    l->sinks().push_back(file);
    l->flush_on(spdlog::level::info);
  } catch (const spdlog::spdlog_ex& e) {
    throw Error("log file '" + path + "': " + e.what());
  }
}

void set_rank(int64_t rank, int64_t world) {
  rank_tag = "[rank " + std::to_string(rank) + "/" + std::to_string(world) + "] ";
  auto l = logger();
  for (size_t i = 0; i < l->sinks().size(); ++i) l->sinks()[i]->set_pattern(i == 0 ? console_pattern() : file_pattern());
}

struct FileScope::Saved {
  std::vector<spdlog::sink_ptr> sinks;
};

FileScope::FileScope(const std::vector<std::string>& paths) : saved_(std::make_unique<Saved>()) {
  saved_->sinks = logger()->sinks();
  detach_files();
  try {
    for (const auto& p : paths) attach_file(p);
  } catch (...) {
    logger()->sinks() = saved_->sinks;
    throw;
  }
}

FileScope::~FileScope() {
  auto l = logger();
  l->flush();
  l->sinks() = saved_->sinks;
}

void detach_files() {
  auto l = logger();
  auto& sinks = l->sinks();
  if (sinks.size() > 1) sinks.erase(sinks.begin() + 1, sinks.end());
}

}  // namespace kdprune::logging
