#pragma once
// The config values only the registries know (dataset, architecture, KD loss, pruner, scorer),
// checked before anything runs, so a typo fails at once with the list of known names.
#include "kdprune/config/config.h"

namespace kdprune::commands {

struct NamesRead {
  bool model = true;   // model.arch
  bool kd = false;     // kd.loss, kd.extra
  bool prune = false;  // prune.method (unless prune.scores names a file)
  bool score = false;  // score.method, and with score.checkpoint what it allows (check_score_checkpoint)
};
// Throws kdprune::Error "<key>: unknown name '<value>' (expected one of: ...)"; data.name always.
void check_registered_names(const Config& c, const NamesRead& read);

// score.checkpoint set: score.method must be a function of one model (Scorer::one_model),
// score.models 1 and score.save_models off. Throws kdprune::Error naming the key; nothing when unset.
void check_score_checkpoint(const ScoreSection& sc);

}  // namespace kdprune::commands
