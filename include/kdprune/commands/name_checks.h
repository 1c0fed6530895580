#pragma once
// The config values only the registries know (dataset, architecture, KD loss, pruner), checked
// before anything runs, so a typo fails at once with the list of known names.
#include "kdprune/config/config.h"

namespace kdprune::commands {

struct NamesRead {
  bool model = true;   // model.arch
  bool kd = false;     // kd.loss, kd.extra
  bool prune = false;  // prune.method (unless prune.scores names a file)
};
// Throws kdprune::Error "<key>: unknown name '<value>' (expected one of: ...)"; data.name always.
void check_registered_names(const Config& c, const NamesRead& read);

}  // namespace kdprune::commands
