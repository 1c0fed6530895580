#include "kdprune/scoring/scorer_registry.h"

#include <algorithm>

#include "kdprune/prune/scorer_list.h"
#include "kdprune/util/error.h"

namespace kdprune::scoring {

// Each line of KDPRUNE_SCORERS names the factory src/scoring/methods/<name>.cpp defines.
#define KDPRUNE_DECLARE_SCORER(name, description) Scorer name##_scorer();
KDPRUNE_SCORERS(KDPRUNE_DECLARE_SCORER)
#undef KDPRUNE_DECLARE_SCORER

namespace {
Scorer named(Scorer s, const char* name, const char* description) {
  s.name = name;
  s.description = description;
  if (!s.settings) s.settings = [](const ScoreSection&) { return nlohmann::json::object(); };
  return s;
}
}  // namespace

const std::vector<Scorer>& scorer_registry() {
  static const std::vector<Scorer> entries = [] {
    std::vector<Scorer> v;
#define KDPRUNE_SCORER_ENTRY(name, description) v.push_back(named(name##_scorer(), #name, description));
    KDPRUNE_SCORERS(KDPRUNE_SCORER_ENTRY)
#undef KDPRUNE_SCORER_ENTRY
    return v;
  }();
  return entries;
}

const Scorer& find_scorer(const std::string& name) {
  const auto& reg = scorer_registry();
  const auto it = std::find_if(reg.begin(), reg.end(), [&](const Scorer& s) { return s.name == name; });
  if (it != reg.end()) return *it;
  std::string known;
  for (const auto& s : reg) known += (known.empty() ? "" : ", ") + s.name;
  throw Error("score.method: unknown method '" + name + "' (expected one of: " + known + ")");
}

}  // namespace kdprune::scoring
