#pragma once
// The thin command line: each subcommand file adds itself to the app and calls the library.
#include <CLI/CLI.hpp>
#include <functional>

#include "kdprune/commands/commands.h"

namespace kdprune::cli {

// What a subcommand runs after parsing; returns the process exit code.
using Action = std::function<int()>;

// --config FILE, --force and trailing section.key=value overrides.
void add_common_options(CLI::App& sub, commands::CommandOptions& opts);

void add_info(CLI::App& app, Action& action);
void add_train_teacher(CLI::App& app, Action& action);
void add_distill(CLI::App& app, Action& action);
void add_eval(CLI::App& app, Action& action);
void add_config(CLI::App& app, Action& action);
void add_prune(CLI::App& app, Action& action);
void add_score(CLI::App& app, Action& action);

}  // namespace kdprune::cli
