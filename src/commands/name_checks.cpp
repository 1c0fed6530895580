#include "kdprune/commands/name_checks.h"

#include <algorithm>
#include <string>
#include <vector>

#include "kdprune/data/dataset_registry.h"
#include "kdprune/losses/kd_loss.h"
#include "kdprune/models/model.h"
#include "kdprune/prune/pruner_registry.h"
#include "kdprune/util/error.h"

namespace kdprune::commands {
namespace {
template <class Registry> std::vector<std::string> names(const Registry& registry) {
  std::vector<std::string> v;
  for (const auto& e : registry) v.push_back(e.name);
  return v;
}
void check(const std::string& key, const std::string& value, const std::vector<std::string>& known) {
  if (std::find(known.begin(), known.end(), value) != known.end()) return;
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  throw Error(key + ": unknown name '" + value + "' (expected one of: " + list + ")");
}
}  // namespace

void check_registered_names(const Config& c, const NamesRead& read) {
  check("data.name", c.data.name, names(data::dataset_registry()));
  if (read.model) check("model.arch", c.model.arch, models::model_names());
  if (read.kd) {
    check("kd.loss", c.kd.loss, names(losses::kd_loss_registry()));
    if (!c.kd.extra.empty()) check("kd.extra", c.kd.extra, names(losses::kd_loss_registry()));
  }
  if (read.prune && c.prune.scores.empty()) check("prune.method", c.prune.method, names(prune::pruner_registry()));
}

}  // namespace kdprune::commands
