#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>

#include "kdprune/config/config.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using kdprune::Config;
using kdprune::Error;
using kdprune::load_config;
using kdprune::parse_memory_size;
using kdprune::to_yaml;
using kdprune::test::TempDir;
using kdprune::test::write_bytes;

namespace {
// The error message load_config throws, or "" when it succeeds.
std::string error_of(const std::string& path, const std::vector<std::string>& overrides) {
  try {
    load_config(path, overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Config, DefaultsWithoutFile) {
  Config c = load_config("", {});
  EXPECT_EQ(c.data.name, "fashion-mnist");
  EXPECT_EQ(c.train.epochs, 240);
  EXPECT_EQ(c.train.milestones, (std::vector<int64_t>{150, 180, 210}));
  EXPECT_DOUBLE_EQ(c.kd.tau, 4.0);
  EXPECT_EQ(c.run.root, "runs");
}

TEST(Config, FileThenOverrides) {
  TempDir d;
  write_bytes(d.file("c.yaml"), "run:\n  seed: 3\ntrain:\n  epochs: 10\n  lr: 0.1\n  milestones: [5, 8]\n");
  Config c = load_config(d.file("c.yaml"), {"train.lr=0.2", "train.milestones=[2,4,6]", "data.augment=false"});
  EXPECT_EQ(c.run.seed, 3);
  EXPECT_EQ(c.train.epochs, 10);
  EXPECT_DOUBLE_EQ(c.train.lr, 0.2);
  EXPECT_EQ(c.train.milestones, (std::vector<int64_t>{2, 4, 6}));
  EXPECT_FALSE(c.data.augment);
}

TEST(Config, NestedSectionAndOverride) {
  Config c = load_config("", {"data.name=synthetic", "data.synthetic.classes=3", "data.synthetic.noise=0"});
  EXPECT_EQ(c.data.synthetic.classes, 3);
  EXPECT_DOUBLE_EQ(c.data.synthetic.noise, 0.0);
}

TEST(Config, UnknownKeyNamesFileAndPath) {
  TempDir d;
  write_bytes(d.file("c.yaml"), "data:\n  fractoin: 0.5\n");
  const std::string e = error_of(d.file("c.yaml"), {});
  EXPECT_NE(e.find(d.file("c.yaml")), std::string::npos) << e;
  EXPECT_NE(e.find("data.fractoin"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("fraction"), std::string::npos) << "lists the known keys: " << e;
}

TEST(Config, UnknownSection) {
  EXPECT_NE(error_of("", {"bogus.key=1"}).find("bogus"), std::string::npos);
}

TEST(Config, WrongTypeNamesExpectation) {
  TempDir d;
  write_bytes(d.file("c.yaml"), "train:\n  epochs: ten\n");
  const std::string e = error_of(d.file("c.yaml"), {});
  EXPECT_NE(e.find("train.epochs"), std::string::npos) << e;
  EXPECT_NE(e.find("integer"), std::string::npos) << e;
  EXPECT_NE(e.find("'ten'"), std::string::npos) << e;
  EXPECT_NE(error_of("", {"train.epochs=1.5"}).find("integer"), std::string::npos);
  EXPECT_NE(error_of("", {"train.nesterov=maybe"}).find("true or false"), std::string::npos);
  EXPECT_NE(error_of("", {"train.milestones=5"}).find("list"), std::string::npos);
  EXPECT_NE(error_of("", {"train=5"}).find("mapping"), std::string::npos);
}

TEST(Config, OutOfRangeValues) {
  for (const char* bad : {"data.fraction=0", "data.fraction=1.5", "prune.fraction=-0.1"}) {
    const std::string e = error_of("", {bad});
    EXPECT_NE(e.find("(0, 1]"), std::string::npos) << bad << ": " << e;
    EXPECT_NE(e.find(bad), std::string::npos) << "names the override: " << e;
  }
  EXPECT_NE(error_of("", {"train.epochs=-1"}).find(">= 0"), std::string::npos);
  EXPECT_NE(error_of("", {"train.batch_size=0"}).find(">= 1"), std::string::npos);
  EXPECT_NE(error_of("", {"train.amp=fp8"}).find("auto, off, bf16, fp16"), std::string::npos);
  EXPECT_NE(error_of("", {"train.channels_last=yes"}).find("auto, true, false"), std::string::npos);
  EXPECT_NE(error_of("", {"run.device=gpu"}).find("cuda:N"), std::string::npos);
  EXPECT_NE(error_of("", {"train.milestones=[10,5]"}).find("ascending"), std::string::npos);
  EXPECT_EQ(error_of("", {"data.fraction=1", "run.device=cuda:1", "train.epochs=0"}), "");
  // data.val_split: a share in [0, 1); run.log_every_steps: a step count, 0 = off.
  for (const char* bad : {"data.val_split=1", "data.val_split=-0.1", "data.val_split=1.5"}) {
    const std::string e = error_of("", {bad});
    EXPECT_NE(e.find("data.val_split"), std::string::npos) << e;
    EXPECT_NE(e.find("[0, 1)"), std::string::npos) << bad << ": " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << "one line: " << e;
  }
  EXPECT_NE(error_of("", {"run.log_every_steps=-1"}).find(">= 0"), std::string::npos);
  EXPECT_NE(error_of("", {"run.log_every_steps=2.5"}).find("run.log_every_steps"), std::string::npos);
  EXPECT_EQ(error_of("", {"data.val_split=0.1", "run.log_every_steps=10"}), "");
  const Config d = load_config("", {});
  EXPECT_EQ(d.data.val_split, 0.0);
  EXPECT_EQ(d.run.log_every_steps, 0);
}

// train.amp and train.channels_last default to auto (made concrete for the device when a run
// starts); a YAML boolean, as config files before auto wrote it, still reads as channels_last.
TEST(Config, PrecisionKeysDefaultToAutoAndReadOldBooleans) {
  const kdprune::Config d = kdprune::load_config_text("", "t", {});
  EXPECT_EQ(d.train.amp, "auto");
  EXPECT_EQ(d.train.channels_last, "auto");
  const kdprune::Config old = kdprune::load_config_text("train:\n  amp: off\n  channels_last: false\n", "t", {});
  EXPECT_EQ(old.train.amp, "off");
  EXPECT_EQ(old.train.channels_last, "false");
  EXPECT_EQ(kdprune::load_config_text(kdprune::to_yaml(old), "t", {}).train.channels_last, "false") << kdprune::to_yaml(old);
  EXPECT_EQ(kdprune::load_config_text("", "t", {"train.channels_last=true"}).train.channels_last, "true");
  // A run resumed under auto keeps what it started with; explicit values stay.
  kdprune::TrainSection now, started;
  started.amp = "off", started.channels_last = "false";
  kdprune::keep_started_precision(now, started);
  EXPECT_EQ(now.amp, "off");
  EXPECT_EQ(now.channels_last, "false");
  kdprune::TrainSection asked;
  asked.amp = "bf16";
  kdprune::keep_started_precision(asked, started);
  EXPECT_EQ(asked.amp, "bf16");
  EXPECT_EQ(asked.channels_last, "false");
  // Identities (stage fingerprints, memorization settings): auto and fp32 are what the fp32
  // default was, so stages made before auto keep theirs; bf16 + channels-last reads as it did
  // when channels_last was a boolean.
  auto changes = [](const std::string& yaml) { return kdprune::to_yaml_changes(kdprune::load_config_text(yaml, "t", {})); };
  EXPECT_EQ(changes("train:\n  amp: auto\n"), changes(""));
  EXPECT_EQ(changes("train:\n  amp: off\n  channels_last: false\n"), changes(""));
  EXPECT_EQ(changes("").find("amp:"), std::string::npos) << changes("");
  const std::string bf16 = changes("train:\n  amp: bf16\n  channels_last: true\n");
  EXPECT_NE(bf16.find("train:\n  amp: bf16\n  channels_last: true\n"), std::string::npos) << bf16;
}

TEST(Config, CrossFieldRules) {
  EXPECT_NE(error_of("", {"data.part=student"}).find("data.split"), std::string::npos);
  EXPECT_NE(error_of("", {"data.split=0.7"}).find("data.part"), std::string::npos);
  EXPECT_EQ(error_of("", {"data.split=0.7", "data.part=student"}), "");
  EXPECT_NE(error_of("", {"data.subset=a.npy", "data.fraction=0.5"}).find("data.subset"), std::string::npos);
}

TEST(Config, MalformedOverridesAndFiles) {
  EXPECT_NE(error_of("", {"train.epochs"}).find("section.key=value"), std::string::npos);
  EXPECT_NE(error_of("", {"=3"}).find("section.key=value"), std::string::npos);
  EXPECT_NE(error_of("", {"train.milestones=[1,2"}).find("not valid YAML"), std::string::npos);
  EXPECT_NE(error_of("/nonexistent/c.yaml", {}).find("cannot open"), std::string::npos);
  TempDir d;
  write_bytes(d.file("bad.yaml"), "train:\n  epochs: [1,\n");
  const std::string e = error_of(d.file("bad.yaml"), {});
  EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;
  EXPECT_NE(e.find("bad.yaml:"), std::string::npos) << e;
  write_bytes(d.file("list.yaml"), "- 1\n- 2\n");
  EXPECT_NE(error_of(d.file("list.yaml"), {}).find("mapping"), std::string::npos);
}

TEST(Config, EveryNumberMustBeFinite) {
  // Every float-valued key of the schema, found by walking the resolved defaults.
  const YAML::Node defaults = YAML::Load(to_yaml(load_config("", {})));
  std::vector<std::string> keys;
  for (const auto& section : defaults)
    for (const auto& kv : section.second) {
      const std::string key = section.first.Scalar() + "." + kv.first.Scalar();
      auto is_float = [](const YAML::Node& n) {
        int64_t i = 0;
        double x = 0;
        return n.IsScalar() && n.Tag() != "!" && !YAML::convert<int64_t>::decode(n, i) && YAML::convert<double>::decode(n, x);
      };
      if (kv.second.IsMap()) {
        for (const auto& sub : kv.second)
          if (is_float(sub.second)) keys.push_back(key + "." + sub.first.Scalar());
      } else if (is_float(kv.second)) {
        keys.push_back(key);
      }
    }
  for (const char* must : {"train.lr", "train.weight_decay", "kd.tau", "kd.alpha", "data.synthetic.noise", "prune.d2_gamma"})
    EXPECT_NE(std::find(keys.begin(), keys.end(), must), keys.end()) << must;
  for (const auto& key : keys)
    for (const char* bad : {".inf", "-.inf", ".nan"}) {
      const std::string e = error_of("", {key + "=" + bad});
      EXPECT_NE(e.find("finite"), std::string::npos) << key << "=" << bad << ": " << e;
    }
  EXPECT_NE(error_of("", {"kd.alpha={schedule: linear, at_f: [0.1, 1], value: [.nan, 0]}"}).find("expected two alphas"),
            std::string::npos);
}

TEST(Config, DuplicateKeysAndSecondDocumentsAreRefused) {
  TempDir d;
  write_bytes(d.file("a.yaml"), "train:\n  lr: 0.1\n  epochs: 3\n  lr: 0.2\n");
  EXPECT_EQ(error_of(d.file("a.yaml"), {}), d.file("a.yaml") + ":4: duplicate key 'lr' (first given at line 2)");
  write_bytes(d.file("b.yaml"), "train:\n  lr: 0.1\nkd: {tau: 4}\ntrain:\n  epochs: 3\n");
  EXPECT_EQ(error_of(d.file("b.yaml"), {}), d.file("b.yaml") + ":4: duplicate key 'train' (first given at line 1)");
  write_bytes(d.file("c.yaml"), "train:\n  lr: 0.1\n---\ntrain:\n  epochs: 3\n");
  EXPECT_NE(error_of(d.file("c.yaml"), {}).find("c.yaml:3: a second YAML document"), std::string::npos);
  write_bytes(d.file("e.yaml"), "train: {lr: 0.1}\n...\nkd: {tau: 2}\n");  // content after an end marker
  EXPECT_NE(error_of(d.file("e.yaml"), {}).find("e.yaml:3: a second YAML document"), std::string::npos);
  // Found by fuzzing: yaml-cpp's LoadAll never returns on a lone ",". The loader must.
  write_bytes(d.file("comma.yaml"), ",");
  error_of(d.file("comma.yaml"), {});
  EXPECT_NE(error_of("", {"kd.alpha={schedule: linear, schedule: table}"}).find("duplicate key 'schedule'"), std::string::npos);
  write_bytes(d.file("ok.yaml"), "%YAML 1.2\n--- # the one document\ntrain:\n  lr: 0.1\n...\n# trailing comment\n");
  EXPECT_EQ(error_of(d.file("ok.yaml"), {}), "");
}

// Inputs the config fuzzer once hung or broke the loader with (fuzz/regressions/config: YAML text,
// then NUL-separated overrides).
TEST(Config, FuzzRegressionsLoadOrFailCleanly) {
  const std::filesystem::path dir = std::filesystem::path(KDPRUNE_SOURCE_DIR) / "fuzz" / "regressions" / "config";
  int replayed = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string bytes = kdprune::test::read_bytes(e.path().string());
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
      const size_t nul = bytes.find('\0', start);
      parts.push_back(bytes.substr(start, nul - start));
      if (nul == std::string::npos) break;
      start = nul + 1;
    }
    const std::vector<std::string> overrides(parts.begin() + 1, parts.end());
    try {
      kdprune::load_config_text(parts[0], e.path().string(), overrides);
    } catch (const Error&) {
    }
    ++replayed;
  }
  EXPECT_GE(replayed, 1);
}

TEST(Config, PathValuesExpandHomeAndVariables) {
  setenv("KDPRUNE_TEST_DATA", "/srv/data", 1);
  unsetenv("KDPRUNE_TEST_UNSET");
  const std::string home = std::getenv("HOME");
  Config c = load_config("", {"data.root=~/data", "run.root=$KDPRUNE_TEST_DATA/runs", "kd.teacher=${KDPRUNE_TEST_DATA}x/m.pt",
                              "prune.scores=a$/~/c$"});
  EXPECT_EQ(c.data.root, home + "/data");
  EXPECT_EQ(c.run.root, "/srv/data/runs");
  EXPECT_EQ(c.kd.teacher, "/srv/datax/m.pt");
  EXPECT_EQ(c.prune.scores, "a$/~/c$");  // a lone '$' and a '~' that does not lead stay as they are
  EXPECT_EQ(error_of("", {"data.subset=$KDPRUNE_TEST_UNSET/s.npy"}),
            "override 'data.subset=$KDPRUNE_TEST_UNSET/s.npy': $KDPRUNE_TEST_UNSET is not set (in '$KDPRUNE_TEST_UNSET/s.npy')");
  EXPECT_EQ(load_config("", {"data.root=~user/x"}).data.root, "~user/x");  // only a leading ~ or ~/
}

// The rule for relative paths: a path written in the config file is relative to the file's
// directory, whatever the working directory; one given as an override (or a default) is relative to
// the working directory, as the shell's arguments are; ${run.root} is run.root's value.
TEST(Config, RelativePathsInAFileAreRelativeToTheFile) {
  TempDir d;
  std::filesystem::create_directories(d.file("exp"));
  write_bytes(d.file("exp/c.yaml"),
              "run: {root: out}\ndata: {subset: ../lists/s.txt}\nkd: {teacher: '${run.root}/t/model.pt'}\n"
              "prune: {scores: /abs/s.npy, model: ~/m.pt}\n");
  const std::string cwd = std::filesystem::current_path().string();
  for (const std::string& where : {cwd, d.path()}) {  // the same from any working directory
    std::filesystem::current_path(where);
    const Config c = load_config(d.file("exp/c.yaml"), {});
    EXPECT_EQ(c.run.root, d.file("exp/out"));
    EXPECT_EQ(c.data.subset, d.file("lists/s.txt"));
    EXPECT_EQ(c.kd.teacher, d.file("exp/out/t/model.pt"));
    EXPECT_EQ(c.prune.scores, "/abs/s.npy");
    EXPECT_EQ(c.prune.model, std::string(std::getenv("HOME")) + "/m.pt");
  }
  std::filesystem::current_path(cwd);
  const Config o = load_config(d.file("exp/c.yaml"), {"data.subset=mine.txt", "run.root=r"});
  EXPECT_EQ(o.data.subset, "mine.txt");         // an override: relative to the working directory
  EXPECT_EQ(o.kd.teacher, "r/t/model.pt");      // ${run.root} follows run.root
  EXPECT_EQ(load_config("", {}).run.root, "runs");  // a default: the working directory
}

TEST(Config, EmptyFileAndEmptySectionGiveDefaults) {
  TempDir d;
  write_bytes(d.file("empty.yaml"), "");
  EXPECT_EQ(load_config(d.file("empty.yaml"), {}).train.epochs, 240);
  write_bytes(d.file("sec.yaml"), "train:\n");
  EXPECT_EQ(load_config(d.file("sec.yaml"), {}).train.epochs, 240);
}

TEST(Config, ResolvedYamlRoundTrips) {
  Config c = load_config("", {"train.lr=0.1", "run.name=abc", "kd.tau=2.5", "train.milestones=[3,7]",
                              "data.root=/tmp/x y", "run.seed=42", "train.nesterov=true"});
  TempDir d;
  write_bytes(d.file("resolved.yaml"), to_yaml(c));
  Config back = load_config(d.file("resolved.yaml"), {});
  EXPECT_EQ(to_yaml(back), to_yaml(c));
  EXPECT_DOUBLE_EQ(back.train.lr, 0.1);
  EXPECT_DOUBLE_EQ(back.train.weight_decay, 5e-4);
  EXPECT_EQ(back.data.root, "/tmp/x y");
  EXPECT_EQ(back.run.name, "abc");
  EXPECT_TRUE(back.train.nesterov);
  // Shortest round-trip text for doubles, not 0.10000000000000001.
  EXPECT_NE(to_yaml(c).find("lr: 0.1\n"), std::string::npos) << to_yaml(c);
}

TEST(AlphaSchedule, ConstantLinearTableAtAndBetweenPoints) {
  EXPECT_DOUBLE_EQ(load_config("", {"kd.alpha=0.7"}).kd.alpha.at(0.3), 0.7);
  Config lin = load_config("", {"kd.alpha.schedule=linear", "kd.alpha.at_f=[0.1,0.7]", "kd.alpha.value=[1.0,0.5]"});
  EXPECT_DOUBLE_EQ(lin.kd.alpha.at(0.1), 1.0);
  EXPECT_DOUBLE_EQ(lin.kd.alpha.at(0.7), 0.5);
  EXPECT_DOUBLE_EQ(lin.kd.alpha.at(0.4), 0.75);
  EXPECT_DOUBLE_EQ(lin.kd.alpha.at(0.05), 1.0) << "clamped below";
  EXPECT_DOUBLE_EQ(lin.kd.alpha.at(1.0), 0.5) << "clamped above";
  TempDir d;
  write_bytes(d.file("t.yaml"), "kd:\n  alpha:\n    schedule: table\n    points: [[0.1, 1.0], [0.3, 0.9], [0.5, 0.6], [0.7, 0.5]]\n");
  Config tab = load_config(d.file("t.yaml"), {});
  EXPECT_DOUBLE_EQ(tab.kd.alpha.at(0.3), 0.9);
  EXPECT_NEAR(tab.kd.alpha.at(0.4), 0.75, 1e-12);
  EXPECT_NEAR(tab.kd.alpha.at(0.2), 0.95, 1e-12);
  EXPECT_DOUBLE_EQ(tab.kd.alpha.at(0.9), 0.5);
  // The resolved YAML round-trips every form.
  for (const Config& c : {lin, tab}) {
    write_bytes(d.file("r.yaml"), to_yaml(c));
    EXPECT_EQ(to_yaml(load_config(d.file("r.yaml"), {})), to_yaml(c));
  }
}

TEST(AlphaSchedule, BadSchedulesNameTheKey) {
  EXPECT_NE(error_of("", {"kd.alpha.schedule=linear"}).find("kd.alpha.at_f"), std::string::npos);
  EXPECT_NE(error_of("", {"kd.alpha.schedule=cubic"}).find("constant, linear, table"), std::string::npos);
  EXPECT_NE(error_of("", {"kd.alpha.schedule=linear", "kd.alpha.at_f=[0.7,0.1]", "kd.alpha.value=[1,0.5]"})
                .find("strictly increasing"), std::string::npos);
  EXPECT_NE(error_of("", {"kd.alpha.schedule=table", "kd.alpha.points=[[0.1]]"}).find("[f, alpha] pairs"), std::string::npos);
  EXPECT_NE(error_of("", {"kd.alpha=1.5"}).find("repdistiller"), std::string::npos);
  EXPECT_EQ(error_of("", {"kd.alpha=2", "kd.weighting=repdistiller"}), "");
  EXPECT_NE(error_of("", {"kd.alpha=-1"}).find("kd.alpha"), std::string::npos);
  EXPECT_NE(error_of("", {"kd.alpha.shedule=linear"}).find("unknown key"), std::string::npos);
}

TEST(Config, ShardSpec) {
  EXPECT_EQ(kdprune::parse_shard("").count, 1);
  const auto s = kdprune::parse_shard("2/5");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 5);
  for (const char* bad : {"5/5", "-1/3", "1/0", "1", "a/2", "1/2x", "/2", "1/"}) EXPECT_FALSE(kdprune::parse_shard(bad).valid()) << bad;
}

TEST(Config, YamlChangesListOnlyNonDefaults) {
  EXPECT_EQ(kdprune::to_yaml_changes(kdprune::yaml_changes_baseline()), "");
  // A changed default shows as a change, an explicit old default does not.
  EXPECT_EQ(kdprune::to_yaml_changes(kdprune::Config{}),
            "prune:\n  sampling: auto\n  cutoff_by: auto\n  d2_gamma: 1.0\n  d2_beta: 0.1\n  d2_graph: symmetric\n"
            "  d2_per_class: true\nscore:\n  schedule_epochs: 0\n");
  kdprune::Config c = kdprune::yaml_changes_baseline();
  c.run.seed = 3;
  c.kd.tau = 2.5;
  c.train.milestones = {5, 9};
  const std::string y = kdprune::to_yaml_changes(c);
  EXPECT_NE(y.find("seed: 3"), std::string::npos) << y;
  EXPECT_NE(y.find("milestones"), std::string::npos) << y;
  EXPECT_NE(y.find("tau: 2.5"), std::string::npos) << y;
  EXPECT_EQ(y.find("batch_size"), std::string::npos) << y;
  EXPECT_EQ(y.find("data:"), std::string::npos) << y;
  // An identity: any other value of any key changes the text.
  kdprune::Config c2 = c;
  c2.prune.sampling = "auto";
  EXPECT_NE(kdprune::to_yaml_changes(c2), y);
  c2 = c;
  c2.score.shard = "0/2";
  EXPECT_NE(kdprune::to_yaml_changes(c2), y);
}

TEST(Config, MemorySizesForGroupMax) {
  EXPECT_EQ(parse_memory_size("512MiB"), 512LL << 20);
  EXPECT_EQ(parse_memory_size("40GiB"), 40LL << 30);
  EXPECT_EQ(parse_memory_size("2.5G"), 5LL << 29);
  EXPECT_EQ(parse_memory_size("1 kb"), 1024);
  EXPECT_EQ(parse_memory_size("1048576"), 1048576);
  for (const char* bad : {"auto", "12XB", "-3G", "0", "", "GiB", "1e30T"}) EXPECT_EQ(parse_memory_size(bad), -1) << bad;
  EXPECT_EQ(load_config("", {"train.group_max=8GiB"}).train.group_max, "8GiB");
  try {
    load_config("", {"train.group_max=lots"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("auto or a memory size"), std::string::npos) << e.what();
  }
}
