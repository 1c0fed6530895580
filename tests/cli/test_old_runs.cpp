// Run directories written by earlier kdprune versions keep working: a config.yaml from before the
// relative-path rule (no "resolved config" header line; run.root: runs written relative to the
// directory kdprune ran in) resumes with --resume from that directory, as it did then.
#include <gtest/gtest.h>

#include <filesystem>

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
