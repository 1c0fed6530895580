// kdprune run's stage reuse: whether a stage directory is run, resumed, rerun or reused (and
// adopted when finished by hand), by its config, inputs and fingerprint.
#include <gtest/gtest.h>

#include <filesystem>

#include "kdprune/config/config.h"
#include "kdprune/pipeline/stage_state.h"
#include "test_files.h"

namespace fs = std::filesystem;
using namespace kdprune;
using namespace kdprune::pipeline;
using kdprune::test::TempDir;
using kdprune::test::write_bytes;

namespace {
Config config_of(const std::string& yaml) { return kdprune::load_config_text(yaml, "t", {}); }
// A stage's directory, made: the tests write what a run left in it.
std::string made_stage_dir(TempDir& d) {
  const std::string dir = d.file("stage");
  fs::create_directories(dir);
  return dir;
}
const std::string seed1 = "run:\n  seed: 1\n";
const std::string bf16_cl = "train:\n  amp: bf16\n  channels_last: true\n";
const std::string fp32_nchw = "train:\n  amp: off\n  channels_last: false\n";
}  // namespace

TEST(Pipeline, StageStateReusesResumesOrReruns) {
  TempDir d;
  const std::string dir = d.file("stage");
  const std::string a1 = "run:\n  seed: 1\n", a2 = "run:\n  seed: 2\n";
  auto config = config_of;
  auto changes = [&](const std::string& yaml) { return kdprune::to_yaml_changes(config(yaml)); };
  // What a run writes: every key (a file missing keys is one from an older kdprune, below).
  auto full = [](const std::string& yaml) { return kdprune::to_yaml(config_of(yaml)); };
  auto state = [&](const std::string& yaml, bool inputs_changed = false) {
    return stage_state(dir, "distill", changes(yaml), config(yaml), {"abc"}, true, inputs_changed);
  };
  EXPECT_EQ(state(a1).action, StageAction::run);
  fs::create_directories(dir);
  write_bytes(dir + "/config.yaml", full(a1));
  EXPECT_EQ(state(a1).action, StageAction::rerun);  // started, no checkpoint yet
  write_bytes(dir + "/checkpoint.pt", "x");
  EXPECT_EQ(state(a1).action, StageAction::resume);
  EXPECT_EQ(state(a2).action, StageAction::rerun);
  EXPECT_EQ(state(a1, true).action, StageAction::rerun);
  // The run wrote every key; one with its default value spelled out is the same config.
  write_bytes(dir + "/config.yaml", kdprune::to_yaml(kdprune::load_config_text(a1, "t", {})));
  EXPECT_EQ(state(a1).action, StageAction::resume);
  write_bytes(dir + "/config.yaml", "run:\n  seed: [\n");  // unreadable: not the same config
  EXPECT_EQ(state(a1).action, StageAction::rerun);
  write_bytes(dir + "/config.yaml", full(a1));
  EXPECT_EQ(stage_state(dir, "prune", changes(a1), config(a1), {"abc"}, false, false).action, StageAction::rerun);
  const std::string mem = d.file("mem");
  fs::create_directories(mem + "/memorization");
  write_bytes(mem + "/config.yaml", full(a1));
  EXPECT_EQ(stage_state(mem, "score", changes(a1), config(a1), {}, true, false).action, StageAction::resume);
  write_bytes(dir + "/summary.json", "{}");
  const auto s = state(a1);
  EXPECT_EQ(s.action, StageAction::reuse);  // finished by hand with the same config: adopted
  EXPECT_TRUE(s.adopted);
  EXPECT_EQ(state(a2).action, StageAction::rerun);
  EXPECT_EQ(state(a1, true).action, StageAction::rerun);
  write_bytes(dir + "/stage.json", "{\"command\": \"distill\", \"fingerprint\": \"0123\"}");  // version 1
  EXPECT_TRUE(state(a1).adopted);
  EXPECT_EQ(state(a1, true).action, StageAction::rerun);
  record_fingerprint(dir, "distill", s.fingerprint);
  EXPECT_EQ(state(a1).action, StageAction::reuse);
  EXPECT_FALSE(state(a1).adopted);
  EXPECT_EQ(state(a2).action, StageAction::rerun);
  EXPECT_EQ(stage_state(dir, "distill", changes(a1), config(a1), {"abd"}, true, false).action, StageAction::rerun);
  EXPECT_NE(stage_state(dir, "distill", changes(a1), config(a1), {"abd"}, true, false).fingerprint, s.fingerprint);
  // A config.yaml from an older kdprune lacks the keys added since: they read as the baseline (the
  // defaults of that time), so its stage is not taken for one made under today's defaults.
  const std::string old = d.file("old");
  fs::create_directories(old);
  std::string text = full(a1);
  text.erase(text.find("  schedule_epochs: 0\n"), std::string("  schedule_epochs: 0\n").size());
  write_bytes(old + "/config.yaml", text);
  write_bytes(old + "/summary.json", "{}");
  EXPECT_EQ(stage_state(old, "score", changes(a1), config(a1), {}, true, false).action, StageAction::rerun);
  write_bytes(old + "/config.yaml", full(a1));
  EXPECT_EQ(stage_state(old, "score", changes(a1), config(a1), {}, true, false).action, StageAction::reuse);
}

// A stage interrupted before train.amp=auto existed wrote amp: off (the default then): under the
// auto default it resumes in fp32 (the run keeps its precision), not from scratch; a precision
// asked for explicitly is a different config.
TEST(Pipeline, AnInterruptedFp32StageResumesUnderAutoPrecision) {
  TempDir d;
  const std::string dir = made_stage_dir(d);
  auto config = config_of;
  const std::string& a = seed1;
  std::string old = kdprune::to_yaml(config(a + fp32_nchw));
  write_bytes(dir + "/config.yaml", old);
  write_bytes(dir + "/checkpoint.pt", "x");
  const std::string key = kdprune::to_yaml_changes(config(a));
  EXPECT_EQ(stage_state(dir, "distill", key, config(a), {}, true, false).action, StageAction::resume);
  const Config asked = config(a + "train:\n  amp: bf16\n");
  EXPECT_EQ(stage_state(dir, "distill", kdprune::to_yaml_changes(asked), asked, {}, true, false).action, StageAction::rerun);
  // One that started in bf16 resumes in bf16 under auto too.
  write_bytes(dir + "/config.yaml", kdprune::to_yaml(config(a + bf16_cl)));
  EXPECT_EQ(stage_state(dir, "distill", key, config(a), {}, true, false).action, StageAction::resume);
  const Config off = config(a + "train:\n  amp: off\n");
  EXPECT_EQ(stage_state(dir, "distill", kdprune::to_yaml_changes(off), off, {}, true, false).action, StageAction::rerun);
}

// A finished stage's fingerprint reads auto as fp32, so a stage auto trained in bf16 shares it
// with an explicit fp32 config: that one reruns it (saying why), auto reuses it, and a stage whose
// result does not depend on precision (changes_of drops train.*, as for prune) is reused by both.
TEST(Pipeline, AFinishedStageIsNotReusedForAnExplicitlyOtherPrecision) {
  TempDir d;
  const std::string dir = made_stage_dir(d);
  auto config = config_of;
  const std::string& a = seed1;
  write_bytes(dir + "/config.yaml", kdprune::to_yaml(config(a + bf16_cl)));
  write_bytes(dir + "/summary.json", "{}");
  const Config automatic = config(a), fp32 = config(a + fp32_nchw);
  const std::string key = kdprune::to_yaml_changes(automatic);
  ASSERT_EQ(key, kdprune::to_yaml_changes(fp32));  // the identity both share
  const auto first = stage_state(dir, "distill", key, automatic, {}, true, false);
  record_fingerprint(dir, "distill", first.fingerprint);
  EXPECT_EQ(stage_state(dir, "distill", key, automatic, {}, true, false).action, StageAction::reuse);
  const auto asked = stage_state(dir, "distill", key, fp32, {}, true, false);
  EXPECT_EQ(asked.action, StageAction::rerun);
  EXPECT_NE(asked.reason.find("trained with amp bf16, channels_last true; the config asks for amp off, channels_last false"),
            std::string::npos) << asked.reason;
  const Config bf16 = config(a + bf16_cl);
  const std::string bf16_key = kdprune::to_yaml_changes(bf16);
  record_fingerprint(dir, "distill", stage_state(dir, "distill", bf16_key, bf16, {}, true, false).fingerprint);
  EXPECT_EQ(stage_state(dir, "distill", bf16_key, bf16, {}, true, false).action, StageAction::reuse);
  const auto without_train = [](Config c) {
    c.train = {};
    return kdprune::to_yaml_changes(c);
  };
  const std::string prune_key = without_train(fp32);
  record_fingerprint(dir, "prune", stage_state(dir, "prune", prune_key, automatic, {}, false, false, without_train).fingerprint);
  EXPECT_EQ(stage_state(dir, "prune", prune_key, fp32, {}, false, false, without_train).action, StageAction::reuse);
}

// The shipped configs said amp: bf16 until auto; under auto (which reads as fp32 in the
// fingerprint) their finished stages are kept in the precision they trained in, with the recorded
// fingerprint, so the stages that read them stay reused too; an explicit fp32 still reruns them.
// A stage whose input runs again is rerun even where its own fingerprint is unchanged.
TEST(Pipeline, AutoKeepsAStageFinishedInAnExplicitPrecision) {
  TempDir d;
  const std::string dir = made_stage_dir(d);
  auto config = config_of;
  const std::string& a = seed1;
  const Config bf16 = config(a + bf16_cl), automatic = config(a);
  write_bytes(dir + "/config.yaml", kdprune::to_yaml(bf16));
  write_bytes(dir + "/summary.json", "{}");
  const std::string scores = "/x/scores.npy";
  const auto then = stage_state(dir, "distill", kdprune::to_yaml_changes(bf16) + scores, bf16, {"t1"}, true, false);
  record_fingerprint(dir, "distill", then.fingerprint);
  const auto kept = stage_state(dir, "distill", kdprune::to_yaml_changes(automatic) + scores, automatic, {"t1"}, true, false);
  EXPECT_EQ(kept.action, StageAction::reuse) << kept.reason;
  EXPECT_EQ(kept.fingerprint, then.fingerprint);
  EXPECT_NE(kept.reason.find("trained with amp bf16, channels_last true, which train.amp=auto keeps"), std::string::npos)
      << kept.reason;
  // Not when something else differs too: another input, or another scores file.
  EXPECT_EQ(stage_state(dir, "distill", kdprune::to_yaml_changes(automatic) + scores, automatic, {"t2"}, true, false).action,
            StageAction::rerun);
  EXPECT_EQ(stage_state(dir, "distill", kdprune::to_yaml_changes(automatic) + "/y.npy", automatic, {"t1"}, true, false).action,
            StageAction::rerun);
  const Config fp32 = config(a + fp32_nchw);
  EXPECT_EQ(stage_state(dir, "distill", kdprune::to_yaml_changes(fp32) + scores, fp32, {"t1"}, true, false).action,
            StageAction::rerun);
  const auto stale = stage_state(dir, "distill", kdprune::to_yaml_changes(bf16) + scores, bf16, {"t1"}, true, true);
  EXPECT_EQ(stale.action, StageAction::rerun);
  EXPECT_EQ(stale.reason, "an input stage runs again");
}
