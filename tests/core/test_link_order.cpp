// The programs find std:: functions in libstdc++, not in a copy a torch wheel exports: the torch
// 2.11 wheels export std::filesystem from libtorch.so, whose remove_all crashes (reproduced with a
// program linked against that wheel's libraries; cmake/KdpruneTorch.cmake puts libstdc++ first).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace {

// The lines a shell command prints (none when it cannot run).
std::vector<std::string> output_lines(const std::string& command) {
  std::vector<std::string> lines;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen((command + " 2>/dev/null").c_str(), "r"), pclose);
  if (!pipe) return lines;
  std::array<char, 1024> line{};
  while (fgets(line.data(), line.size(), pipe.get())) {
    std::string s(line.data());
    if (!s.empty() && s.back() == '\n') s.pop_back();
    lines.push_back(s);
  }
  return lines;
}

// The shared libraries `program` needs, in the order the loader searches them.
std::vector<std::string> needed(const std::string& program) {
  std::vector<std::string> libs;
  for (const auto& s : output_lines("readelf -d '" + program + "'")) {
    if (s.find("(NEEDED)") == std::string::npos) continue;
    const auto open = s.find('['), close = s.find(']');
    if (open != std::string::npos && close > open) libs.push_back(s.substr(open + 1, close - open - 1));
  }
  return libs;
}

// The dynamic symbols `program` takes from a shared library (nm -D --undefined-only).
std::vector<std::string> imported(const std::string& program) {
  std::vector<std::string> symbols;
  for (const auto& s : output_lines("nm -D --undefined-only '" + program + "'")) symbols.push_back(s.substr(s.find_last_of(' ') + 1));
  return symbols;
}

}  // namespace

// The GPU machines' segfault (FitGroup.AStudentResumedLaterJoinsAtItsEpoch, in a TempDir
// destructor): a program linked with a static libstdc++ took std::filesystem::remove_all from
// libtorch.so's exported copy. No program may import it unless libstdc++ itself is a needed
// library (then it comes first; see the test below). Fails on such a machine if remove_all returns.
TEST(LinkOrder, NoProgramImportsRemoveAllWithoutItsLibstdcxx) {
  for (const std::string program : {std::string(KDPRUNE_BIN), std::string("/proc/self/exe")}) {
    const auto symbols = imported(program);
    if (symbols.empty()) GTEST_SKIP() << "nm is not available";
    const auto libs = needed(program);
    const bool shared_libstdcxx =
        std::any_of(libs.begin(), libs.end(), [](const std::string& l) { return l.rfind("libstdc++", 0) == 0; });
    for (const auto& sym : symbols)
      if (sym.rfind("_ZNSt10filesystem", 0) == 0 && sym.find("remove_all") != std::string::npos)
        EXPECT_TRUE(shared_libstdcxx) << program << " imports " << sym
                                      << " with libstdc++ linked statically: it binds to libtorch.so's crashing copy; "
                                         "use io::remove_tree";
  }
}

TEST(LinkOrder, TheCliSearchesLibstdcxxBeforeLibtorch) {
  const auto libs = needed(KDPRUNE_BIN);
  if (libs.empty()) GTEST_SKIP() << "readelf is not available";
  // A toolchain that links libstdc++ statically (the GPU machines' /opt/gcc) has none to order;
  // there kdprune avoids the one crashing function instead (io::remove_tree).
  if (std::none_of(libs.begin(), libs.end(), [](const std::string& l) { return l.rfind("libstdc++", 0) == 0; }))
    GTEST_SKIP() << "libstdc++ is linked statically";
  const auto at = [&](const std::string& prefix) {
    for (size_t i = 0; i < libs.size(); ++i)
      if (libs[i].rfind(prefix, 0) == 0) return static_cast<int64_t>(i);
    return static_cast<int64_t>(-1);
  };
  ASSERT_GE(at("libtorch"), 0) << "kdprune does not link libtorch?";
  EXPECT_LT(at("libstdc++"), at("libtorch"));
}
