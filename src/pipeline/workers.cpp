#include "kdprune/pipeline/workers.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <numeric>

#include "kdprune/util/error.h"

namespace kdprune::pipeline {

WorkerSpec parse_worker(const std::string& text) {
  const auto slash = text.find('/');
  WorkerSpec w;
  auto number = [&](const std::string& s, int64_t& out) {
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
  };
  if (slash == std::string::npos || !number(text.substr(0, slash), w.index) || !number(text.substr(slash + 1), w.count))
    throw Error("--worker '" + text + "': expected i/n, worker i of n (e.g. --worker 0/4)");
  if (w.count < 1) throw Error("--worker '" + text + "': n must be at least 1");
  if (w.index < 0 || w.index >= w.count)
    throw Error("--worker '" + text + "': i must be 0.." + std::to_string(w.count - 1) + " (workers are numbered from 0)");
  return w;
}

double forward_cost(const std::string& arch) {
  // Forward MACs per 32x32 image, in millions (the CIFAR models as RepDistiller defines them; the
  // torchvision ResNets with the 3x3 stem kdprune uses at that size).
  static const std::map<std::string, double> mmacs = {
      {"resnet8", 12.5},   {"resnet14", 26.8},   {"resnet20", 41.0},  {"resnet32", 69.8},   {"resnet44", 98.5},
      {"resnet56", 127.0}, {"resnet110", 255.0}, {"resnet8x4", 177.0}, {"resnet32x4", 1083.0}, {"wrn_16_1", 27.0},
      {"wrn_16_2", 101.0}, {"wrn_40_1", 83.0},   {"wrn_40_2", 329.0}, {"wrn_28_10", 5250.0}, {"resnet18", 557.0},
      {"resnet34", 1160.0}, {"resnet50", 1300.0},
  };
  const auto it = mmacs.find(arch);
  return it == mmacs.end() ? mmacs.at("resnet20") : it->second;
}

double student_cost(double kept_fraction, int64_t epochs, const std::string& arch, const std::string& teacher_arch) {
  const double step = 3.0 * forward_cost(arch) + (teacher_arch.empty() ? 0.0 : forward_cost(teacher_arch));
  return kept_fraction * static_cast<double>(epochs) * step;
}

std::vector<int64_t> deal_units(const std::vector<WorkUnit>& units, int64_t workers) {
  std::vector<size_t> order(units.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return units[a].cost > units[b].cost; });
  std::vector<double> load(static_cast<size_t>(workers), 0.0);
  std::vector<int64_t> dealt(units.size(), 0);
  for (size_t u : order) {
    const auto w = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    dealt[u] = static_cast<int64_t>(w);
    load[w] += units[u].cost;
  }
  return dealt;
}

std::vector<double> worker_shares(const std::vector<WorkUnit>& units, const std::vector<int64_t>& dealt, int64_t workers) {
  std::vector<double> share(static_cast<size_t>(workers), 0.0);
  for (size_t u = 0; u < units.size(); ++u) share[static_cast<size_t>(dealt[u])] += units[u].cost;
  return share;
}

}  // namespace kdprune::pipeline
