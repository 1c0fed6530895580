#pragma once
// Shared helpers of the libFuzzer harnesses: a per-process scratch directory for the files the
// readers want, splitting one fuzz input into several parts, and invariant checks.
//
// The contract under test: a reader either returns a consistent result or throws kdprune::Error.
// Every harness catches kdprune::Error only; any other exception escaping aborts the process
// (std::terminate), which libFuzzer reports as a crash together with the exception's what().
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kdprune_fuzz {

// /dev/shm/kdprune-fuzz-<harness>-<pid> (or $TMPDIR when /dev/shm is missing); removed at exit.
// A crashed process leaves its directory behind; scripts/fuzz.sh removes those of dead processes.
inline const std::string& scratch_dir(const char* harness = "fuzz") {
  static const std::string dir = [&] {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    fs::path d = base / ("kdprune-fuzz-" + std::string(harness) + "-" + std::to_string(::getpid()));
    fs::create_directories(d);
    static const std::string keep = d.string();
    std::atexit([] {
      std::error_code e;
      std::filesystem::remove_all(keep, e);
    });
    return d.string();
  }();
  return dir;
}

// Writes `bytes` to <scratch>/<name> and returns the path.
inline std::string write_file(const std::string& name, std::string_view bytes) {
  const std::string path = scratch_dir() + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) {
    std::perror(path.c_str());
    std::abort();  // the harness itself is broken, not the code under test
  }
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
  std::fclose(f);
  return path;
}

// Splits `in` into `k` parts: each of the first k-1 is prefixed by a little-endian uint16 length
// (clamped to what is left), the last part is the rest.
inline std::vector<std::string_view> split_u16(std::string_view in, size_t k) {
  std::vector<std::string_view> parts;
  for (size_t i = 0; i + 1 < k; ++i) {
    size_t len = 0;
    if (in.size() >= 2) {
      len = static_cast<unsigned char>(in[0]) | (static_cast<size_t>(static_cast<unsigned char>(in[1])) << 8);
      in.remove_prefix(2);
    } else {
      in = {};
    }
    len = std::min(len, in.size());
    parts.push_back(in.substr(0, len));
    in.remove_prefix(len);
  }
  parts.push_back(in);
  return parts;
}

// The inverse of split_u16, for seed generators and tests.
inline std::string join_u16(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i + 1 < parts.size()) {
      out += static_cast<char>(parts[i].size() & 0xff);
      out += static_cast<char>((parts[i].size() >> 8) & 0xff);
    }
    out += parts[i];
  }
  return out;
}

// KDPRUNE_FUZZ_VERBOSE=1: print every refused input's kdprune::Error and every accepted input,
// to see what a seed or a regression input does (`fuzz_idx fuzz/corpus/idx/pair-plain`).
inline bool verbose() {
  static const bool v = [] {
    const char* e = std::getenv("KDPRUNE_FUZZ_VERBOSE");
    return e && *e && *e != '0';
  }();
  return v;
}
inline void refused(const std::exception& e) {
  if (verbose()) std::fprintf(stderr, "kdprune-fuzz: refused: %s\n", e.what());
}
inline void accepted(const std::string& what) {
  if (verbose()) std::fprintf(stderr, "kdprune-fuzz: accepted: %s\n", what.c_str());
}

// An invariant of a successful result: a violation is a finding, reported like a crash.
[[noreturn]] inline void invariant_failed(const char* expr, const char* file, int line, const std::string& detail) {
  std::fprintf(stderr, "==kdprune-fuzz== INVARIANT VIOLATED: %s (%s:%d) %s\n", expr, file, line, detail.c_str());
  std::abort();
}

}  // namespace kdprune_fuzz

#define FUZZ_CHECK(cond, detail) \
  do {                           \
    if (!(cond)) ::kdprune_fuzz::invariant_failed(#cond, __FILE__, __LINE__, (detail)); \
  } while (0)
