#pragma once
// The CPU's bf16 support as the kernel lists it in /proc/cpuinfo, independent of ATen's cpuinfo:
// what train.amp=auto is checked against. nullopt where there is no flags line to read.
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace kdprune::test {

inline std::optional<bool> cpuinfo_lists_native_bf16() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) {
      std::istringstream words(line);
      std::string w;
      while (words >> w)
        if (w == "avx512_bf16" || w == "amx_bf16") return true;
      return false;
    }
  return std::nullopt;
}

}  // namespace kdprune::test
