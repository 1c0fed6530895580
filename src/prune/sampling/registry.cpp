#include <algorithm>

#include "kdprune/config/sampling_list.h"
#include "kdprune/prune/sampling.h"
#include "kdprune/util/error.h"

namespace kdprune::prune {

// The rules of config/sampling_list.h: src/prune/sampling/<name>.cpp defines SamplingRule <name>_rule().
#define KDPRUNE_DECLARE_RULE(name) SamplingRule name##_rule();
KDPRUNE_SAMPLING_RULES(KDPRUNE_DECLARE_RULE)
#undef KDPRUNE_DECLARE_RULE

const std::vector<SamplingRule>& sampling_registry() {
#define KDPRUNE_RULE_ENTRY(name) name##_rule(),
  static const std::vector<SamplingRule> rules = {KDPRUNE_SAMPLING_RULES(KDPRUNE_RULE_ENTRY)};
#undef KDPRUNE_RULE_ENTRY
  return rules;
}

std::string sampling_names_or() {
  const auto& rules = sampling_registry();
  std::string s;
  for (size_t i = 0; i < rules.size(); ++i) s += (i == 0 ? "" : i + 1 == rules.size() ? " or " : ", ") + rules[i].name;
  return s;
}

const SamplingRule& sampling_rule(const std::string& name) {
  const auto& rules = sampling_registry();
  const auto it = std::find_if(rules.begin(), rules.end(), [&](const SamplingRule& r) { return r.name == name; });
  if (it != rules.end()) return *it;
  std::string known;
  for (const auto& r : rules) known += (known.empty() ? "" : ", ") + r.name;
  throw Error("prune.sampling: unknown rule '" + name + "' (expected one of: " + known + ")");
}

const SamplingRule& score_free_sampling() {
  const auto& rules = sampling_registry();
  return *std::find_if(rules.begin(), rules.end(), [](const SamplingRule& r) { return !r.reads.scores; });
}

}  // namespace kdprune::prune
