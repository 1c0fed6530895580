#pragma once
// A stable 64-bit content hash (FNV-1a) for fingerprints and short names: unlike std::hash its
// value is fixed across builds and platforms, so fingerprints written to disk stay comparable.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace kdprune {

inline uint64_t fnv1a64(std::string_view bytes, uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

inline std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace kdprune
