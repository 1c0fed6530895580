// Precision on a CPU that would emulate bf16, made here by capping oneDNN below its bf16
// instructions (ONEDNN_MAX_CPU_ISA=AVX2, as on a CPU with AVX2 alone): train.amp=auto trains in
// fp32 there, and an explicit train.amp=bf16 trains as asked but says once why it is slow.
#include <gtest/gtest.h>

#include <cstdlib>

#include "run_cli.h"
#include "test_files.h"

using namespace kdprune::test;

namespace {
size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

struct CappedIsa {
  CappedIsa() { setenv("ONEDNN_MAX_CPU_ISA", "AVX2", 1); }
  ~CappedIsa() { unsetenv("ONEDNN_MAX_CPU_ISA"); }
};
}  // namespace

TEST(CliPrecision, WhereBf16IsEmulatedAutoTrainsFp32AndAnExplicitBf16IsWarnedOfOnce) {
  CappedIsa capped;
  const Result info = run("info");
  ASSERT_EQ(info.code, 0) << info.out;
  EXPECT_NE(info.out.find("precision (train.amp=auto): cpu fp32 (no native bf16)"), std::string::npos) << info.out;
  TempDir d;
  const std::string args = "train-teacher run.root=runs run.threads=1 data.name=synthetic data.synthetic.train_size=64 "
                           "data.synthetic.test_size=32 data.synthetic.channels=1 data.synthetic.height=8 "
                           "data.synthetic.width=8 data.synthetic.classes=4 train.epochs=2 train.batch_size=16";
  const std::string warning = "train.amp=bf16 on a CPU without native bf16";
  const Result automatic = run(args + " run.name=auto", d.path());
  ASSERT_EQ(automatic.code, 0) << automatic.out;
  EXPECT_EQ(count(automatic.out, warning), 0u) << automatic.out;
  EXPECT_NE(read_bytes(d.path() + "/runs/auto/config.yaml").find("amp: \"off\""), std::string::npos);
  const Result asked = run(args + " run.name=bf16 train.amp=bf16", d.path());
  ASSERT_EQ(asked.code, 0) << asked.out;
  EXPECT_EQ(count(asked.out, warning), 1u) << asked.out;
  EXPECT_NE(read_bytes(d.path() + "/runs/bf16/config.yaml").find("amp: \"bf16\""), std::string::npos);
}
