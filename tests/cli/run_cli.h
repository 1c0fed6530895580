#pragma once
// Runs the built binary (KDPRUNE_BIN) with `args`; stdout and stderr together, and the exit code.
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

}  // namespace kdprune::test
