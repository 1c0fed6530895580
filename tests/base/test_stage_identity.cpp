// Which config keys a stage's fingerprint sees (key_roles in the schema), paths by what they
// name, the keys named when a finished stage would rerun, and the checks on finished stages'
// recorded files (issue #37: finished work is never thrown away by surprise).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <yaml-cpp/yaml.h>

#include "kdprune/config/config.h"
#include "kdprune/config/key_roles.h"
#include "kdprune/io/file_digest.h"
#include "kdprune/pipeline/experiment.h"
#include "kdprune/pipeline/stage_identity.h"
#include "kdprune/pipeline/stage_state.h"
#include "test_files.h"

namespace fs = std::filesystem;
using namespace kdprune;
using namespace kdprune::pipeline;
using kdprune::test::error_of;
using kdprune::test::read_bytes;
using kdprune::test::TempDir;
using kdprune::test::write_bytes;

namespace {
Config config_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return load_config_text(yaml, "t", overrides);
}
size_t leaves(const YAML::Node& n) {
  if (!n.IsMap()) return 1;
  size_t k = 0;
  for (const auto& kv : n) k += leaves(kv.second);
  return k;
}
}  // namespace

TEST(KeyRoles, EveryKeyHasOneEntryAndTheDeclaredRoles) {
  // One entry per leaf of the resolved config: the table is the schema.
  EXPECT_EQ(key_table().size(), leaves(YAML::Load(to_yaml(Config{}))));
  EXPECT_TRUE(key_roles("run.threads") & key_role::run_only);
  EXPECT_TRUE(key_roles("train.eval_batch_size") & key_role::run_only);
  EXPECT_TRUE(key_roles("train.checkpoint_every") & key_role::run_only);
  EXPECT_TRUE(key_roles("train.group_max") & key_role::run_only);
  EXPECT_TRUE(key_roles("run.log_level") & key_role::run_only);
  EXPECT_EQ(key_roles("train.epochs") & key_role::run_only, 0u);
  EXPECT_EQ(key_roles("data.subset"), key_role::view | key_role::path);
  EXPECT_TRUE(key_roles("kd.teacher") & key_role::per_student);  // the kd section's role
  EXPECT_TRUE(key_roles("kd.teacher") & key_role::path);
  EXPECT_TRUE(key_roles("prune.seed") & key_role::view);
  EXPECT_EQ(key_roles("no.such"), 0u);
}

TEST(KeyRoles, CopyKeysTakesOnlyTheSelectedRoles) {
  Config a = config_of("run: {threads: 3, seed: 5}\ntrain: {epochs: 7}\ndata: {fraction: 0.5}\n");
  const Config b = config_of("run: {threads: 1, seed: 9, name: x}\ntrain: {epochs: 2}\ndata: {fraction: 0.25}\n");
  copy_keys(a, b, key_role::run_only);
  EXPECT_EQ(a.run.threads, 1);
  EXPECT_EQ(a.run.name, "x");
  EXPECT_EQ(a.run.seed, 5);
  EXPECT_EQ(a.train.epochs, 7);
  copy_keys(a, b, key_role::view);
  EXPECT_EQ(a.data.fraction, 0.25);
  EXPECT_EQ(a.train.epochs, 7);
  copy_keys(a, b, key_role::per_student);
  EXPECT_EQ(a.train.epochs, 2);
  EXPECT_EQ(a.run.seed, 5);
}

TEST(StageIdentity, RunOnlyKeysAndPathSpellingsDoNotChangeIt) {
  TempDir d;
  const std::string exp = d.file("runs/exp");
  fs::create_directories(exp + "/teacher-resnet8");
  write_bytes(exp + "/teacher-resnet8/model.pt", "weights");
  const std::string base = "train: {epochs: 3}\n";
  auto text = [&](const std::vector<std::string>& o, const std::string& dir) {
    return identity_text(config_of(base, o), StageKind::student, dir);
  };
  const std::string abs_teacher = "kd.teacher=" + exp + "/teacher-resnet8/model.pt";
  const std::string ref = text({abs_teacher, "run.root=" + exp}, exp);
  EXPECT_EQ(ref.find(d.path()), std::string::npos) << ref;  // no spelling of the folder
  EXPECT_NE(ref.find("<experiment>/teacher-resnet8/model.pt"), std::string::npos) << ref;
  for (const auto& extra : {"run.threads=2", "run.log_level=debug", "train.eval_batch_size=7", "train.checkpoint_every=1",
                            "train.group_max=1GiB", "run.adapt_threads=true", "run.device=cpu", "train.cuda_graph=off",
                            "run.log_every_steps=5"})
    EXPECT_EQ(text({abs_teacher, "run.root=" + exp, extra}, exp), ref) << extra;
  // The same folder spelled relative, with ./ and with .., from the current directory.
  const fs::path cwd = fs::current_path();
  fs::current_path(d.path());
  EXPECT_EQ(text({"kd.teacher=runs/exp/teacher-resnet8/model.pt", "run.root=runs/exp"}, "runs/exp"), ref);
  EXPECT_EQ(text({"kd.teacher=./runs/exp/teacher-resnet8/model.pt", "run.root=./runs"}, "./runs/exp"), ref);
  EXPECT_EQ(text({"kd.teacher=runs/../runs/exp/teacher-resnet8/model.pt"}, "runs/exp/"), ref);
  // The experiment folder moved: its stages read the same files relative to it.
  fs::rename("runs", "moved");
  EXPECT_EQ(text({"kd.teacher=moved/exp/teacher-resnet8/model.pt"}, "moved/exp"), ref);
  fs::current_path(cwd);
  // What does change the result does change it.
  EXPECT_NE(text({abs_teacher, "train.epochs=4"}, exp), ref);
  EXPECT_NE(text({abs_teacher, "kd.tau=2"}, exp), ref);
  EXPECT_NE(text({abs_teacher, "data.val_split=0.1"}, exp), ref);  // it changes what the student trains on
}

// data.val_split changes a training stage (teacher, student), not scoring (which covers the whole
// pool and ignores it) nor selection (which trains nothing).
TEST(StageIdentity, AValidationSplitChangesTrainingStagesOnly) {
  const std::string exp = "/x/exp";
  for (StageKind kind : {StageKind::teacher, StageKind::student, StageKind::score, StageKind::prune}) {
    const std::string plain = identity_text(config_of(""), kind, exp);
    const std::string held = identity_text(config_of("", {"data.val_split=0.1"}), kind, exp);
    if (kind == StageKind::teacher || kind == StageKind::student) EXPECT_NE(held, plain);
    else EXPECT_EQ(held, plain);
  }
  EXPECT_EQ(key_roles("data.val_split"), key_role::view);
  EXPECT_EQ(key_roles("run.log_every_steps"), key_role::run_only | key_role::per_student);
}

TEST(StageIdentity, AnOutsideFileIsItsContent) {
  TempDir d;
  write_bytes(d.file("t.pth"), "one teacher");
  write_bytes(d.file("copy.pth"), "one teacher");
  auto text = [&](const std::string& file) {
    return identity_text(config_of("", {"kd.teacher=" + file}), StageKind::student, d.file("exp"));
  };
  const std::string first = text(d.file("t.pth"));
  EXPECT_EQ(first.find("t.pth"), std::string::npos) << first;
  EXPECT_EQ(text(d.file("copy.pth")), first);  // the same bytes elsewhere
  write_bytes(d.file("t.pth"), "another teacher");
  EXPECT_NE(text(d.file("t.pth")), first);
}

// A score stage of a model file (score.checkpoint) is the file's content: a changed file is a
// changed stage, the same bytes elsewhere the same; score.save_models changes what it writes.
TEST(StageIdentity, AScoredCheckpointIsItsContent) {
  TempDir d;
  write_bytes(d.file("m.pt"), "one model");
  write_bytes(d.file("copy.pt"), "one model");
  auto text = [&](const std::string& file, const std::string& more = "score.method=el2n") {
    return identity_text(config_of("", {"score.method=el2n", "score.checkpoint=" + file, more}), StageKind::score, d.file("exp"));
  };
  const std::string first = text(d.file("m.pt"));
  EXPECT_EQ(first.find("m.pt"), std::string::npos) << first;
  EXPECT_NE(first.find("checkpoint: <file content "), std::string::npos) << first;
  EXPECT_EQ(text(d.file("copy.pt")), first);
  EXPECT_NE(text(d.file("m.pt"), "score.save_models=true"), first);
  write_bytes(d.file("m.pt"), "another model");
  EXPECT_NE(text(d.file("m.pt")), first);
  EXPECT_NE(identity_text(config_of("", {"score.method=el2n"}), StageKind::score, d.file("exp")), first);
}

TEST(StageIdentity, ChangedKeysNameTheKeyAndBothValues) {
  const auto exp = std::string("/x/exp");
  const std::string before = identity_text(config_of("train: {epochs: 30}\n"), StageKind::teacher, exp);
  const std::string after = identity_text(config_of("train: {epochs: 40, lr: 0.1}\nrun: {threads: 2}\n"), StageKind::teacher, exp);
  const auto keys = changed_keys(before, after);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0], "train.epochs 30 -> 40");
  EXPECT_EQ(keys[1], "train.lr 0.05 -> 0.1");
  EXPECT_TRUE(changed_keys(before, before).empty());
}

TEST(FileDigest, ContentNotNameAndCachedByTime) {
  TempDir d;
  write_bytes(d.file("a"), std::string(3 << 20, 'x') + "tail");
  write_bytes(d.file("b"), std::string(3 << 20, 'x') + "tail");
  EXPECT_EQ(io::file_digest(d.file("a")), io::file_digest(d.file("b")));
  EXPECT_FALSE(io::file_digest(d.file("a")).empty());
  std::string flipped = read_bytes(d.file("b"));
  flipped[1234567] ^= 1;
  write_bytes(d.file("b"), flipped);
  fs::last_write_time(d.file("b"), fs::last_write_time(d.file("b")) + std::chrono::seconds(5));
  EXPECT_NE(io::file_digest(d.file("a")), io::file_digest(d.file("b")));
  EXPECT_EQ(io::file_digest(d.file("missing")), "");
}

// A finished stage's files are checked against the digests it recorded: a missing, damaged,
// truncated or replaced one makes it rerun (without asking: the result is already lost), and the
// reason names the file. A changed config asks for --rerun-changed and names the key.
TEST(StageState, RecordedOutputsAreCheckedOnReuse) {
  TempDir d;
  const std::string dir = d.file("exp/prune-random-f0.5");
  fs::create_directories(dir);
  const Config c = config_of("train: {epochs: 3}\n");
  write_bytes(dir + "/config.yaml", to_yaml(c));
  write_bytes(dir + "/subset.npy", "indices");
  write_bytes(dir + "/summary.json", "{}");
  write_bytes(dir + "/log.txt", "log");
  auto key = [](const Config& x) { return to_yaml_changes(x); };
  auto state = [&](const Config& x) { return stage_state(dir, "train-teacher", key(x), x, {}, true, false); };
  record_fingerprint(dir, "train-teacher", state(c).fingerprint);
  EXPECT_EQ(state(c).action, StageAction::reuse);
  write_bytes(dir + "/log.txt", "a log may grow");
  EXPECT_EQ(state(c).action, StageAction::reuse);
  write_bytes(dir + "/subset.npy", "indicez");
  auto damaged = state(c);
  EXPECT_EQ(damaged.action, StageAction::rerun);
  EXPECT_FALSE(damaged.discards_finished);
  EXPECT_NE(damaged.reason.find("subset.npy changed since the stage finished"), std::string::npos) << damaged.reason;
  fs::remove(dir + "/subset.npy");
  EXPECT_NE(state(c).reason.find("subset.npy is missing"), std::string::npos) << state(c).reason;
  write_bytes(dir + "/subset.npy", "indices");
  EXPECT_EQ(state(c).action, StageAction::reuse);
  const Config more = config_of("train: {epochs: 4}\n");
  const auto changed = state(more);
  EXPECT_EQ(changed.action, StageAction::rerun);
  EXPECT_TRUE(changed.discards_finished);
  EXPECT_NE(changed.reason.find("train.epochs 3 -> 4"), std::string::npos) << changed.reason;
}

TEST(StageState, ConsumedFilesAreComparedByContent) {
  TempDir d;
  const std::string exp = d.file("exp");
  fs::create_directories(exp + "/student");
  fs::create_directories(exp + "/prune");
  write_bytes(exp + "/prune/subset.npy", "subset");
  const Config c = config_of("", {"data.subset=" + exp + "/prune/subset.npy"});
  const auto read = consumed_files(c, "", exp);
  ASSERT_EQ(read, std::vector<std::string>{"prune/subset.npy"});
  record_fingerprint(exp + "/student", "distill", "f", read, exp);
  EXPECT_TRUE(consumed_unchanged(exp + "/student", exp));
  write_bytes(exp + "/prune/subset.npy", "another");
  EXPECT_FALSE(consumed_unchanged(exp + "/student", exp));
}

TEST(ConfigBounds, AliasesThatExpandWithoutBoundAreRefusedQuickly) {
  TempDir d;
  write_bytes(d.file("self.yaml"), "run: &a [*a]\n");
  EXPECT_NE(error_of([&] { load_config(d.file("self.yaml"), {}); }).find("an alias that contains itself"), std::string::npos);
  write_bytes(d.file("laughs.yaml"), kdprune::test::billion_laughs_yaml());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_NE(error_of([&] { load_config(d.file("laughs.yaml"), {}); }).find("expands to more than"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_NE(error_of([&] { load_config("", {"train.milestones=&m [*m]"}); }).find("override"), std::string::npos);
}

TEST(ConfigBounds, InterpolationOfConfigKeysIsRefusedNotKeptLiterally) {
  EXPECT_NE(error_of([] { load_config("", {"run.name=${run.root}"}); }).find("${...} interpolation is not supported"),
            std::string::npos);
  EXPECT_NE(error_of([] { load_config("", {"data.root=${data.name}/x"}); }).find("config keys are not interpolated"),
            std::string::npos);
  EXPECT_NE(error_of([] { load_config("", {"run.threads=5000"}); }).find("run.threads"), std::string::npos);
}

TEST(ExperimentLists, RepeatsAndEmptyListsAreRefused) {
  TempDir d;
  const std::string path = d.file("e.yaml");
  write_bytes(path, "run: {root: " + d.path() + ", name: e}\ndata: {name: synthetic}\nexperiment:\n  fractions: [0.5]\n");
  auto err = [&](const std::string& o) { return error_of([&] { load_experiment(path, {o}); }); };
  EXPECT_NE(err("experiment.alphas=[0.5, 0.50]").find("'0.5' is listed twice"), std::string::npos) << err("experiment.alphas=[0.5, 0.50]");
  EXPECT_NE(err("experiment.seeds=[1, 1]").find("experiment.seeds"), std::string::npos);
  EXPECT_NE(err("experiment.fractions=[0.1, 0.1]").find("listed twice"), std::string::npos);
  EXPECT_NE(err("experiment.pruners=[random, random]").find("'random' is listed twice"), std::string::npos);
  EXPECT_NE(err("experiment.teacher_archs=[resnet8, resnet8]").find("listed twice"), std::string::npos);
  EXPECT_NE(err("experiment.alphas=[]").find("at least one alpha"), std::string::npos);
  EXPECT_NE(err("experiment.pruners=[]").find("at least one pruner"), std::string::npos);
  EXPECT_EQ(err("experiment.alphas=[0, 0.5]"), "");
}

// docs/config.md lists the run-only and the path keys; the lists are the schema's.
TEST(KeyRoles, TheDocsListTheSchemasRunOnlyAndPathKeys) {
  const std::string doc = read_bytes(std::string(KDPRUNE_SOURCE_DIR) + "/docs/config.md");
  auto listed = [&](const std::string& label) {
    const auto at = doc.find("- **" + label + "** keys");
    EXPECT_NE(at, std::string::npos) << label;
    const std::string item = doc.substr(at, doc.find("\n- ", at + 1) - at);
    std::set<std::string> keys;
    for (size_t i = item.find(": `"); i != std::string::npos && (i = item.find('`', i)) != std::string::npos;) {
      const size_t end = item.find('`', i + 1);
      keys.insert(item.substr(i + 1, end - i - 1));
      i = end + 1;
    }
    return keys;
  };
  auto schema = [](unsigned role) {
    std::set<std::string> keys;
    for (const auto& k : key_table())
      if (k.roles & role) keys.insert(k.key);
    return keys;
  };
  EXPECT_EQ(listed("run-only"), schema(key_role::run_only));
  EXPECT_EQ(listed("path"), schema(key_role::path));
}
