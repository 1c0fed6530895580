// What a researcher meets in a first week (issue #39, item 5): messages that say what to do next
// and log lines that read as what happened.
#include <gtest/gtest.h>

#include <filesystem>

#include "run_cli.h"
#include "tiny_run.h"
#include "test_files.h"

using namespace kdprune::test;
namespace fs = std::filesystem;

namespace {
std::string tiny(const TempDir& d, const std::string& name) { return tiny_run(d, name); }
}  // namespace

// An experiment file handed to `kdprune config` (or a training command) points at `kdprune run`.
TEST(FirstWeek, AnExperimentFileOutsideRunPointsAtRun) {
  TempDir d;
  write_bytes(d.file("exp.yaml"), "data:\n  name: synthetic\nexperiment:\n  name: e\n  fractions: [0.5]\n");
  for (const std::string cmd : {"config", "distill"}) {
    const Result r = run(cmd + " --config " + d.file("exp.yaml"));
    expect_one_line_error(r, "experiment: unknown key");
    expect_one_line_error(r, "kdprune run --config FILE --dry-run");
  }
}

// `kdprune results` where no student finished is an error, not an empty table with exit 0.
TEST(FirstWeek, ResultsWithNoFinishedStudentIsAnError) {
  TempDir d;
  fs::create_directories(d.file("empty"));
  const Result r = run("results " + d.file("empty"));
  expect_one_line_error(r, "no finished student run");
  expect_one_line_error(r, d.file("empty"));
}

// The loss line shows the weights as numbers, not as binary rounding (α = 0.9: 0.1·CE, not
// 0.09999999999999998·CE); `info` describes Moderate as its reference computes it (the median).
TEST(FirstWeek, LogAndInfoSayWhatIsComputed) {
  TempDir d;
  const Result teacher = run("train-teacher " + tiny(d, "t"));
  ASSERT_EQ(teacher.code, 0) << teacher.out;
  const Result student = run("distill " + tiny(d, "s") + " kd.alpha=0.9 kd.teacher=" + d.file("t/model.pt"));
  ASSERT_EQ(student.code, 0) << student.out;
  EXPECT_NE(student.out.find("loss convex = 0.1*CE + 0.9*kd"), std::string::npos) << student.out;
  EXPECT_EQ(student.out.find("0.0999999"), std::string::npos) << student.out;
  const Result info = run("info");
  ASSERT_EQ(info.code, 0) << info.out;
  const auto at = info.out.find("moderate");
  ASSERT_NE(at, std::string::npos) << info.out;
  const std::string line = info.out.substr(at, info.out.find('\n', at) - at);
  EXPECT_NE(line.find("median"), std::string::npos) << line;
  EXPECT_EQ(line.find("centroid"), std::string::npos) << line;
}
