// Run directories written by earlier kdprune versions keep working: a config.yaml from before the
// relative-path rule (no "resolved config" header line; run.root: runs written relative to the
// directory kdprune ran in) resumes with --resume from that directory, as it did then.
#include <gtest/gtest.h>

#include <filesystem>

#include "cpu_flags.h"
#include "run_cli.h"
#include "test_files.h"

using namespace kdprune::test;
namespace fs = std::filesystem;

TEST(OldRuns, AConfigWrittenBeforeTheRelativePathRuleResumes) {
  TempDir d;
  const std::string args = "train-teacher run.root=runs run.name=old run.threads=1 data.name=synthetic "
                           "data.synthetic.train_size=64 data.synthetic.test_size=32 data.synthetic.channels=1 "
                           "data.synthetic.height=8 data.synthetic.width=8 data.synthetic.classes=4 train.epochs=2 "
                           "train.checkpoint_every=1 train.batch_size=16";
  ASSERT_EQ(run(args, d.path()).code, 0);
  const std::string dir = d.path() + "/runs/old";
  // What an older kdprune left: no header line, and the run not finished (killed after epoch 2's
  // checkpoint, before its summary).
  std::string yaml = read_bytes(dir + "/config.yaml");
  ASSERT_EQ(yaml.rfind("# kdprune resolved config", 0), 0u) << yaml.substr(0, 80);
  yaml = yaml.substr(yaml.find('\n') + 1);
  ASSERT_NE(yaml.find("root: \"runs\""), std::string::npos) << yaml;
  write_bytes(dir + "/config.yaml", yaml);
  fs::remove(dir + "/summary.json");
  const Result resumed = run(args + " --resume", d.path());
  EXPECT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_EQ(resumed.out.find("config differs"), std::string::npos) << resumed.out;
  EXPECT_NE(resumed.out.find("resuming"), std::string::npos) << resumed.out;
  EXPECT_TRUE(fs::exists(dir + "/summary.json"));
  // A changed key is still refused, naming it.
  fs::remove(dir + "/summary.json");
  const Result changed = run(args + " train.lr=0.5 --resume", d.path());
  EXPECT_NE(changed.code, 0);
  EXPECT_NE(changed.out.find("config differs"), std::string::npos) << changed.out;
}

namespace {
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos) return text;
  return text.replace(at, from.size(), to);
}
}  // namespace

// train.amp=auto: a new run records the device's choice in its config.yaml (bf16 + channels-last
// on a CPU with native bf16, fp32 elsewhere); a run from before auto (amp: off, channels_last:
// false) resumes under the defaults in fp32, as it started; an explicit other precision is refused.
TEST(OldRuns, AnFp32RunFromBeforeAutoPrecisionResumesInFp32) {
  const auto native = cpuinfo_lists_native_bf16();
  if (!native) GTEST_SKIP() << "no CPU flags in /proc/cpuinfo to check the choice against";
  TempDir d;
  const std::string args = "train-teacher run.root=runs run.name=old run.threads=1 data.name=synthetic "
                           "data.synthetic.train_size=64 data.synthetic.test_size=32 data.synthetic.channels=1 "
                           "data.synthetic.height=8 data.synthetic.width=8 data.synthetic.classes=4 train.epochs=2 "
                           "train.checkpoint_every=1 train.batch_size=16";
  const Result fresh = run(args, d.path());
  ASSERT_EQ(fresh.code, 0) << fresh.out;
  const std::string dir = d.path() + "/runs/old";
  const bool bf16 = *native;
  std::string yaml = read_bytes(dir + "/config.yaml");
  const std::string amp = bf16 ? "amp: \"bf16\"" : "amp: \"off\"";
  const std::string layout = bf16 ? "channels_last: \"true\"" : "channels_last: \"false\"";
  ASSERT_NE(yaml.find(amp), std::string::npos) << yaml;
  ASSERT_NE(yaml.find(layout), std::string::npos) << yaml;
  EXPECT_NE(fresh.out.find(bf16 ? "(amp bf16, channels_last true" : "(amp off, channels_last false"), std::string::npos)
      << fresh.out;
  // What a kdprune before auto wrote, killed after epoch 2's checkpoint.
  write_bytes(dir + "/config.yaml", replaced(replaced(yaml, amp, "amp: off"), layout, "channels_last: false"));
  fs::remove(dir + "/summary.json");
  const Result resumed = run(args + " --resume", d.path());
  EXPECT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("resuming"), std::string::npos) << resumed.out;
  EXPECT_NE(resumed.out.find("(amp off, channels_last false"), std::string::npos) << resumed.out;
  EXPECT_NE(read_bytes(dir + "/config.yaml").find("amp: off"), std::string::npos);
  // eval evaluates in the run's precision (its config.yaml), a file without a run in this
  // device's (the accuracy a run here would report).
  const std::string data = " data.name=synthetic data.synthetic.train_size=64 data.synthetic.test_size=32 "
                           "data.synthetic.channels=1 data.synthetic.height=8 data.synthetic.width=8 data.synthetic.classes=4";
  ASSERT_EQ(run("eval --checkpoint " + dir + "/model.pt --out " + d.file("run.json") + data, d.path()).code, 0);
  EXPECT_NE(read_bytes(d.file("run.json")).find("\"amp\": \"off\""), std::string::npos) << read_bytes(d.file("run.json"));
  fs::copy_file(dir + "/model.pt", d.file("alone.pt"));
  ASSERT_EQ(run("eval --checkpoint " + d.file("alone.pt") + " --out " + d.file("alone.json") + data, d.path()).code, 0);
  EXPECT_NE(read_bytes(d.file("alone.json")).find(bf16 ? "\"amp\": \"bf16\"" : "\"amp\": \"off\""), std::string::npos)
      << read_bytes(d.file("alone.json"));
  fs::remove(dir + "/summary.json");
  const Result asked = run(args + " train.amp=bf16 --resume", d.path());
  EXPECT_NE(asked.code, 0);
  EXPECT_NE(asked.out.find("config differs"), std::string::npos) << asked.out;
  EXPECT_NE(asked.out.find("amp"), std::string::npos) << asked.out;
}
