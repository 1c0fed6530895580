#pragma once
// Allowed-value rules for config fields: a predicate plus the words that describe it in errors.
#include <algorithm>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "kdprune/config/config.h"

namespace kdprune::config_rules {

template <class T>
struct Rule {
  std::string expect;             // e.g. "a number in (0, 1]"; empty = any value of the type
  std::function<bool(const T&)> ok;
};

template <class T>
Rule<T> at_least(T lo, std::string what) {
  return {what + " >= " + std::to_string(lo), [lo](const T& v) { return v >= lo; }};
}
inline Rule<int64_t> positive_int() { return {"an integer >= 1", [](const int64_t& v) { return v >= 1; }}; }
inline Rule<int64_t> non_negative_int() { return {"an integer >= 0", [](const int64_t& v) { return v >= 0; }}; }
inline Rule<double> non_negative() { return {"a number >= 0", [](const double& v) { return v >= 0; }}; }
inline Rule<double> positive() { return {"a number > 0", [](const double& v) { return v > 0; }}; }
inline Rule<double> fraction_open_closed() {  // (0, 1]: a kept fraction
  return {"a number in (0, 1]", [](const double& v) { return v > 0 && v <= 1; }};
}
inline Rule<double> unit_closed() { return {"a number in [0, 1]", [](const double& v) { return v >= 0 && v <= 1; }}; }
inline Rule<double> unit_closed_open() { return {"a number in [0, 1)", [](const double& v) { return v >= 0 && v < 1; }}; }
inline Rule<std::string> one_of(std::initializer_list<const char*> names) {
  std::vector<std::string> list(names.begin(), names.end());
  std::string expect = "one of";
  for (size_t i = 0; i < list.size(); ++i) expect += (i ? ", " : " ") + list[i];
  return {expect, [list](const std::string& v) { return std::find(list.begin(), list.end(), v) != list.end(); }};
}
inline Rule<std::string> memory_size_or_auto() {
  return {"auto or a memory size such as 512MiB or 40GiB",
          [](const std::string& v) { return v == "auto" || parse_memory_size(v) > 0; }};
}
inline Rule<std::string> non_empty() { return {"a non-empty string", [](const std::string& v) { return !v.empty(); }}; }
inline Rule<std::string> device_spec() {
  return {"auto, cpu, cuda or cuda:N", [](const std::string& v) {
            if (v == "auto" || v == "cpu" || v == "cuda") return true;
            if (v.rfind("cuda:", 0) != 0 || v.size() == 5) return false;
            return std::all_of(v.begin() + 5, v.end(), [](char c) { return c >= '0' && c <= '9'; });
          }};
}
inline Rule<std::string> shard_spec() {
  return {"empty or i/n with 0 <= i < n", [](const std::string& v) { return v.empty() || parse_shard(v).valid(); }};
}
inline Rule<std::vector<int64_t>> ascending_positive() {
  return {"an ascending list of epochs >= 1", [](const std::vector<int64_t>& v) {
            for (size_t i = 0; i < v.size(); ++i)
              if (v[i] < 1 || (i && v[i] <= v[i - 1])) return false;
            return true;
          }};
}

}  // namespace kdprune::config_rules
