#include "kdprune/prune/pruner_registry.h"

#include <algorithm>

#include "kdprune/prune/scorer_list.h"
#include "kdprune/prune/selection.h"

namespace kdprune::prune {

const std::vector<PrunerEntry>& pruner_registry() {
#define KDPRUNE_SCORER_ENTRY(scorer, text) {.name = #scorer, .description = text},
  static const std::vector<PrunerEntry> entries = {
      {.name = "random",
       .description = "N_f samples uniformly without replacement (seeded by prune.seed)",
       .needs_scores = false,
       .select =
           [](const ScoreFreeInputs& in) {
             return in.class_balanced ? class_balanced_random_selection(in.pool, in.labels, in.quota, in.seed)
                                      : random_selection(in.pool, in.k, in.seed);
           }},
      {.name = "class_balanced_random",
       .description = "N_f/C per class (capped, leftovers redistributed), uniform within a class",
       .needs_scores = false,
       .class_balanced = true,
       .select = [](const ScoreFreeInputs& in) { return class_balanced_random_selection(in.pool, in.labels, in.quota, in.seed); }},
      KDPRUNE_SCORERS(KDPRUNE_SCORER_ENTRY)
      {.name = "scores", .description = "any per-sample score file (.npy/.csv) given to kdprune prune --scores", .label_only = true},
      {.name = "ccs",
       .description = "selection over any score (prune.sampling=ccs): cut-off by AUM, 50 equal-width strata, smallest first",
       .label_only = true},
      {.name = "d2",
       .description = "selection over any score (prune.sampling=d2): cut-off by AUM, per-class symmetric kNN graphs of "
                      "prune.model's embeddings, forward exp(-d) + reverse exp(-0.1 d) message passing (the reference's recipe)",
       .label_only = true},
  };
#undef KDPRUNE_SCORER_ENTRY
  return entries;
}

const PrunerEntry* find_pruner(const std::string& name) {
  const auto& reg = pruner_registry();
  const auto it = std::find_if(reg.begin(), reg.end(), [&](const PrunerEntry& e) { return e.name == name; });
  return it == reg.end() ? nullptr : &*it;
}

bool score_free(const std::string& name) {
  const PrunerEntry* e = find_pruner(name);
  return e && !e->needs_scores;
}

bool class_balanced_pruner(const std::string& name) {
  const PrunerEntry* e = find_pruner(name);
  return e && e->class_balanced;
}

std::string score_free_names() {
  std::vector<std::string> names;
  for (const auto& e : pruner_registry())
    if (!e.needs_scores) names.push_back(e.name);
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  return s;
}

}  // namespace kdprune::prune
