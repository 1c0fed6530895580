#pragma once
// The thin command line: each subcommand file adds itself to the app and calls the library.
#include <CLI/CLI.hpp>
#include <functional>

#include "kdprune/commands/commands.h"

namespace kdprune::cli {

// What a subcommand runs after parsing; returns the process exit code.
using Action = std::function<int()>;

// Adds subcommand `name` with the options every subcommand shares (--config FILE, --force,
// --resume, trailing section.key=value overrides). Extra options go on the returned App; when the
// subcommand is chosen, `action` becomes `run` applied to the parsed options.
CLI::App* add_command(CLI::App& app, Action& action, const std::string& name, const std::string& help,
                      std::function<int(commands::CommandOptions&)> run);

void add_info(CLI::App& app, Action& action);
void add_train_teacher(CLI::App& app, Action& action);
void add_distill(CLI::App& app, Action& action);
void add_eval(CLI::App& app, Action& action);
void add_export(CLI::App& app, Action& action);
void add_config(CLI::App& app, Action& action);
void add_prune(CLI::App& app, Action& action);
void add_score(CLI::App& app, Action& action);
void add_run(CLI::App& app, Action& action);
void add_results(CLI::App& app, Action& action);
void add_theory(CLI::App& app, Action& action);
void add_samples(CLI::App& app, Action& action);

}  // namespace kdprune::cli
