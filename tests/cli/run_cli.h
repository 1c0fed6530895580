#pragma once
// Runs the built binary (KDPRUNE_BIN) with `args`; stdout and stderr together, and the exit code.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace kdprune::test {

struct Result {
  int code;
  std::string out;
};

// `dir`: the working directory to run in ("" = this process's); `env`: "NAME=value ..." for it.
inline Result run(const std::string& args, const std::string& dir = "", const std::string& env = "") {
  const std::string cmd = (dir.empty() ? "" : "cd '" + dir + "' && ") + (env.empty() ? "" : env + " ") +
                          std::string(KDPRUNE_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

// Exit code 1 and one "kdprune: error:" line holding `needle`: no trace, no "internal error".
inline void expect_one_line_error(const Result& r, const std::string& needle) {
  EXPECT_EQ(r.code, 1) << r.out;
  const auto at = r.out.find("kdprune: error: ");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string line = r.out.substr(at, r.out.find('\n', at) - at);
  EXPECT_NE(line.find(needle), std::string::npos) << "expected '" << needle << "' in: " << line;
  EXPECT_EQ(r.out.find("internal error"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("frame #"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Exception raised from"), std::string::npos) << r.out;
}

}  // namespace kdprune::test
