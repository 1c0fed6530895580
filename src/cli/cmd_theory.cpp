#include <cstdio>

#include "cli.h"
#include "kdprune/commands/theory.h"

namespace kdprune::cli {

void add_theory(CLI::App& app, Action& action) {
  auto* theory = app.add_subcommand("theory", "the paper's theory checked numerically (theory ridge: Theorem 3.1)");
  theory->require_subcommand(0, 1);
  // Alone it names the check to run (CLI11's own words would be "A subcommand is required").
  theory->callback([theory] {
    if (theory->get_subcommands().empty())
      throw CLI::RequiredError("kdprune theory: name the check to run: kdprune theory ridge (Theorem 3.1 in ridge regression)",
                               CLI::ExitCodes::RequiredError);
  });
  auto o = std::make_shared<commands::RidgeTableOptions>();
  auto ft = std::make_shared<std::string>("0.3,0.6,1");
  auto alphas = std::make_shared<std::string>("0:1:0.1");
  auto* ridge = theory->add_subcommand(
      "ridge", "Theorem 3.1 in ridge regression: the self-distilled student's bias², variance and total error against α "
               "for teachers on f_t >= f of a seeded Gaussian design, in closed form (a table; --out: CSV)");
  ridge->add_option("--d", o->d, "dimension of θ (default 50)");
  ridge->add_option("--n", o->n, "samples in the design (default 200)");
  ridge->add_option("--f", o->f, "the student's fraction: its samples are the first round(f·n) (default 0.3)");
  ridge->add_option("--ft", *ft, "teachers' fractions, each in [f, 1] (f is always added: the theorem's reference)");
  ridge->add_option("--lambda", o->lambda, "ridge penalty, > 0 (default 1)");
  ridge->add_option("--sigma", o->sigma, "label noise standard deviation (default 1)");
  ridge->add_option("--alphas", *alphas, "α values: start:stop:step or a list (default 0:1:0.1)");
  ridge->add_option("--seed", o->seed, "seed of the design and of θ* (default 0)");
  ridge->add_option("--mc", o->mc_draws, "also estimate bias² and variance from this many noise draws (Monte Carlo)");
  ridge->add_option("--out,-o", o->out, "write the table as CSV here (scripts/plot_theory.py draws it)");
  ridge->callback([&action, o, ft, alphas] {
    action = [o, ft, alphas] {
      o->f_t = commands::parse_grid(*ft, "--ft");
      o->alphas = commands::parse_grid(*alphas, "--alphas");
      const auto t = commands::theory_ridge(*o);
      std::fputs(t.text.c_str(), stdout);
      if (!o->out.empty()) std::printf("table: %s\n", o->out.c_str());
      return 0;
    };
  });
}

}  // namespace kdprune::cli
