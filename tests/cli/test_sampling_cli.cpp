// Score-based sampling through the binary: DUAL scores feed Beta sampling, AUM scores, memorization resumes
// at the first unfinished model, CCS and D2 selections are deterministic.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <limits>
#include <set>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "kdprune/io/npy.h"
#include "run_cli.h"
#include "test_files.h"

namespace fs = std::filesystem;
using kdprune::test::read_bytes;
using kdprune::test::Result;
using kdprune::test::run;
using kdprune::test::TempDir;

namespace {
std::string tiny(const TempDir& d, const std::string& name) {
  return " run.root=" + d.path() + " run.name=" + name +
         " data.name=synthetic data.synthetic.train_size=96 data.synthetic.test_size=32"
         " data.synthetic.channels=1 data.synthetic.height=8 data.synthetic.width=8 data.synthetic.classes=4"
         " model.arch=resnet8 train.batch_size=16 train.schedule=constant run.threads=1";
}
nlohmann::json json_of(const std::string& path) { return nlohmann::json::parse(read_bytes(path)); }
}  // namespace

TEST(SamplingCli, DualScoresFeedBetaSampling) {
  TempDir d;
  auto s = run("score" + tiny(d, "dual") + " score.method=dual score.epochs=4 score.window=2");
  ASSERT_EQ(s.code, 0) << s.out;
  ASSERT_TRUE(fs::exists(d.path() + "/dual/mean_prob.npy"));
  EXPECT_EQ(json_of(d.path() + "/dual/scores.json")["window"], 2);
  const std::string scores = d.path() + "/dual/scores.npy";
  for (const char* name : {"b1", "b2"}) {
    auto p = run("prune --scores " + scores + tiny(d, name) + " prune.fraction=0.25 prune.sampling=beta prune.seed=3");
    ASSERT_EQ(p.code, 0) << p.out;
    EXPECT_NE(p.out.find("beta sampling: a = "), std::string::npos) << p.out;
  }
  EXPECT_EQ(read_bytes(d.path() + "/b1/subset.npy"), read_bytes(d.path() + "/b2/subset.npy"));
  EXPECT_EQ(json_of(d.path() + "/b1/subset.json")["subset_size"], 24);
  EXPECT_EQ(json_of(d.path() + "/b1/subset.json")["sampling"], "beta");
  auto missing = run("prune --scores " + scores + tiny(d, "b3") + " prune.fraction=0.25 prune.sampling=beta prune.mean_prob=" +
                     d.file("nope.npy"));
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.out.find("prune.mean_prob: '"), std::string::npos) << missing.out;
  // The default, auto: Beta sampling for DUAL scores at f <= 0.5 (the same subset as asked
  // explicitly), top-k above, and top-k for scores without mean_prob.npy beside them.
  ASSERT_EQ(run("prune --scores " + scores + tiny(d, "a1") + " prune.fraction=0.25 prune.seed=3").code, 0);
  EXPECT_EQ(read_bytes(d.path() + "/a1/subset.npy"), read_bytes(d.path() + "/b1/subset.npy"));
  EXPECT_EQ(json_of(d.path() + "/a1/subset.json")["sampling_requested"], "auto");
  ASSERT_EQ(run("prune --scores " + scores + tiny(d, "a2") + " prune.fraction=0.75").code, 0);
  EXPECT_EQ(json_of(d.path() + "/a2/subset.json")["sampling"], "topk");
  fs::create_directories(d.file("bare"));
  fs::copy_file(scores, d.file("bare/scores.npy"));
  ASSERT_EQ(run("prune --scores " + d.file("bare/scores.npy") + tiny(d, "a3") + " prune.fraction=0.25").code, 0);
  EXPECT_EQ(json_of(d.path() + "/a3/subset.json")["sampling"], "topk");
  auto aum = run("score" + tiny(d, "aum") + " score.method=aum score.epochs=2");
  ASSERT_EQ(aum.code, 0) << aum.out;
}

TEST(SamplingCli, MemorizationResumesAtTheFirstUnfinishedModel) {
  TempDir d;
  const std::string args = tiny(d, "mem") + " score.method=memorization score.epochs=2 score.models=3 score.subset_ratio=0.5";
  auto first = run("score" + args);
  ASSERT_EQ(first.code, 0) << first.out;
  const auto info = json_of(d.path() + "/mem/scores.json");
  EXPECT_EQ(info["models"], 3);
  EXPECT_TRUE(info.contains("single_group_samples"));
  const std::string scores = read_bytes(d.path() + "/mem/scores.npy");
  // Pretend the job was killed while training model 3: its file and the summary are missing.
  fs::remove(d.path() + "/mem/memorization/model-2.npy");
  fs::remove(d.path() + "/mem/summary.json");
  auto resumed = run("score --resume" + args);
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("model 1/3 already done"), std::string::npos) << resumed.out;
  EXPECT_NE(resumed.out.find("model 2/3 already done"), std::string::npos) << resumed.out;
  EXPECT_NE(resumed.out.find("memorization: model 3/3 ("), std::string::npos) << resumed.out;
  EXPECT_EQ(read_bytes(d.path() + "/mem/scores.npy"), scores) << "the resumed job gives the same scores";
}

TEST(SamplingCli, MemorizationShardsRunConcurrentlyAndAggregate) {
  TempDir d;
  const std::string common = " score.method=memorization score.epochs=2 score.models=3 score.subset_ratio=0.5";
  ASSERT_EQ(run("score" + tiny(d, "one") + common).code, 0);
  const std::string shared = " score.outcomes_dir=" + d.path() + "/outcomes";
  // Two processes at once, each training its own models into the shared directory.
  Result shard0, shard1;
  std::thread t0([&] { shard0 = run("score" + tiny(d, "s0") + common + shared + " score.shard=0/2"); });
  std::thread t1([&] { shard1 = run("score" + tiny(d, "s1") + common + shared + " score.shard=1/2"); });
  t0.join();
  t1.join();
  ASSERT_EQ(shard0.code, 0) << shard0.out;
  ASSERT_EQ(shard1.code, 0) << shard1.out;
  EXPECT_FALSE(fs::exists(d.path() + "/s0/scores.npy")) << "a shard writes no scores";
  EXPECT_EQ(json_of(d.path() + "/s0/scores.json")["models_trained_here"], nlohmann::json({0, 2}));
  EXPECT_EQ(json_of(d.path() + "/s1/scores.json")["models_trained_here"], nlohmann::json({1}));
  auto all = run("score" + tiny(d, "all") + common + shared);
  ASSERT_EQ(all.code, 0) << all.out;
  EXPECT_NE(all.out.find("model 3/3 already done"), std::string::npos) << all.out;
  EXPECT_EQ(all.out.find("memorization: model 1/3 ("), std::string::npos) << "the aggregating run trains nothing";
  EXPECT_EQ(read_bytes(d.path() + "/all/scores.npy"), read_bytes(d.path() + "/one/scores.npy"))
      << "shards give the scores of one process";
  // Models trained with other settings are refused, as are shards without a shared directory.
  auto other = run("score" + tiny(d, "other") + " score.method=memorization score.epochs=1 score.models=3" + shared);
  EXPECT_NE(other.code, 0);
  EXPECT_NE(other.out.find("score.outcomes_dir: " + d.path() + "/outcomes holds models trained with other settings"),
            std::string::npos) << other.out;
  auto alone = run("score" + tiny(d, "alone") + common + " score.shard=0/2");
  EXPECT_NE(alone.code, 0);
  EXPECT_NE(alone.out.find("need a shared score.outcomes_dir"), std::string::npos) << alone.out;
  auto bad = run("score" + tiny(d, "bad") + common + shared + " score.shard=2/2");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("score.shard"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("i/n with 0 <= i < n"), std::string::npos) << bad.out;
}

TEST(SamplingCli, CcsAndD2SelectDeterministically) {
  TempDir d;
  ASSERT_EQ(run("score" + tiny(d, "el2n") + " score.method=el2n score.epochs=1").code, 0);
  ASSERT_EQ(run("train-teacher" + tiny(d, "t") + " train.epochs=1").code, 0);
  const std::string scores = " --scores " + d.path() + "/el2n/scores.npy";
  for (const char* name : {"c1", "c2"})
    ASSERT_EQ(run("prune" + scores + tiny(d, name) + " prune.fraction=0.5 prune.sampling=ccs prune.cutoff=0.1 prune.strata=5").code, 0);
  EXPECT_EQ(read_bytes(d.path() + "/c1/subset.npy"), read_bytes(d.path() + "/c2/subset.npy"));
  EXPECT_EQ(json_of(d.path() + "/c1/subset.json")["subset_size"], 48);
  for (const char* name : {"d1", "d2"}) {
    auto r = run("prune" + scores + tiny(d, name) + " prune.fraction=0.25 prune.sampling=d2 prune.knn=3 prune.model=" +
                 d.path() + "/t/model.pt");
    ASSERT_EQ(r.code, 0) << r.out;
  }
  EXPECT_EQ(read_bytes(d.path() + "/d1/subset.npy"), read_bytes(d.path() + "/d2/subset.npy"));
  EXPECT_EQ(json_of(d.path() + "/d1/subset.json")["subset_size"], 24);
  auto no_model = run("prune" + scores + tiny(d, "d3") + " prune.fraction=0.25 prune.sampling=d2");
  EXPECT_NE(no_model.code, 0);
  EXPECT_NE(no_model.out.find("prune.model: D2 needs"), std::string::npos) << no_model.out;
  auto info = run("info");
  for (const char* name : {"dual", "memorization", "ccs", "d2", "aum"}) EXPECT_NE(info.out.find(name), std::string::npos) << name;
}

TEST(SamplingCli, CutOffByAumPoolsAndImportedScores) {
  TempDir d;
  // A scoring run records AUM beside its scores, its schedule length and its pool.
  auto s = run("score" + tiny(d, "el2n") + " score.method=el2n score.epochs=2 score.schedule_epochs=10");
  ASSERT_EQ(s.code, 0) << s.out;
  EXPECT_NE(s.out.find("trains the first 2 epochs of a 10-epoch schedule"), std::string::npos) << s.out;
  const auto info = json_of(d.path() + "/el2n/scores.json");
  EXPECT_EQ(info["schedule_epochs"], 10);
  EXPECT_EQ(info["pool"]["size"], 96);
  const std::string scores = d.path() + "/el2n/scores.npy";
  const auto aum = kdprune::io::read_npy_as_f64(d.path() + "/el2n/aum.npy");
  ASSERT_EQ(aum.size(), 96u);
  // CCS with a 25 % cut-off: by AUM (the reference's rule) when aum.npy is beside the scores.
  ASSERT_EQ(run("prune --scores " + scores + tiny(d, "c1") + " prune.fraction=0.25 prune.sampling=ccs prune.cutoff=0.25").code, 0);
  EXPECT_EQ(json_of(d.path() + "/c1/subset.json")["cutoff_by"], "aum");
  // The 24 lowest AUM (ties: the higher index first, as drop_lowest) are never selected.
  std::vector<size_t> by_aum(96);
  for (size_t i = 0; i < 96; ++i) by_aum[i] = i;
  std::sort(by_aum.begin(), by_aum.end(), [&](size_t a, size_t b) { return aum[a] != aum[b] ? aum[a] < aum[b] : a > b; });
  const std::set<size_t> cut(by_aum.begin(), by_aum.begin() + 24);
  for (int64_t i : kdprune::io::read_npy_as_i64(d.path() + "/c1/subset.npy"))
    EXPECT_EQ(cut.count(static_cast<size_t>(i)), 0u) << "sample " << i << " is among the 24 lowest AUMs";
  ASSERT_EQ(run("prune --scores " + scores + tiny(d, "c2") + " prune.fraction=0.25 prune.sampling=ccs prune.cutoff=0.25 "
                "prune.cutoff_by=score").code, 0);
  EXPECT_EQ(json_of(d.path() + "/c2/subset.json")["cutoff_by"], "score");
  fs::create_directories(d.file("bare"));
  fs::copy_file(scores, d.file("bare/scores.npy"));
  auto no_aum = run("prune --scores " + d.file("bare/scores.npy") + tiny(d, "c3") +
                    " prune.fraction=0.25 prune.sampling=ccs prune.cutoff=0.25 prune.cutoff_by=aum");
  EXPECT_NE(no_aum.code, 0);
  EXPECT_NE(no_aum.out.find("prune.cutoff_by=aum: no AUM file"), std::string::npos) << no_aum.out;

  // Scores of one split part cannot select from another.
  ASSERT_EQ(run("score" + tiny(d, "part") + " score.method=el2n score.epochs=1 data.split=0.5 data.part=student").code, 0);
  const std::string part_scores = " --scores " + d.path() + "/part/scores.npy";
  auto other = run("prune" + part_scores + tiny(d, "p1") + " prune.fraction=0.5 data.split=0.5 data.part=teacher");
  EXPECT_NE(other.code, 0);
  EXPECT_NE(other.out.find("were computed on a pool of 48 samples"), std::string::npos) << other.out;
  EXPECT_FALSE(fs::exists(d.path() + "/p1")) << "nothing written on a refused selection";
  EXPECT_EQ(run("prune" + part_scores + tiny(d, "p2") + " prune.fraction=0.5 data.split=0.5 data.part=student").code, 0);

  // Imported scores: an order file maps positions to dataset indices (data_diet saves class-
  // sorted scores); the same scores reversed with a reversed order select the same subset.
  std::vector<float> v(96), reversed(96);
  for (size_t i = 0; i < 96; ++i) v[i] = static_cast<float>((i * 37) % 96), reversed[95 - i] = v[i];
  kdprune::io::write_npy_f32(d.file("v.npy"), v);
  kdprune::io::write_npy_f32(d.file("r.npy"), reversed);
  std::string order;
  for (int i = 95; i >= 0; --i) order += std::to_string(i) + "\n";
  kdprune::test::write_bytes(d.file("order.txt"), order);
  ASSERT_EQ(run("prune --scores " + d.file("v.npy") + tiny(d, "o1") + " prune.fraction=0.25").code, 0);
  auto o2 = run("prune --scores " + d.file("r.npy") + tiny(d, "o2") + " prune.fraction=0.25 prune.scores_order=" + d.file("order.txt"));
  ASSERT_EQ(o2.code, 0) << o2.out;
  EXPECT_EQ(read_bytes(d.path() + "/o1/subset.npy"), read_bytes(d.path() + "/o2/subset.npy"));
  kdprune::test::write_bytes(d.file("short.txt"), "0\n1\n");
  auto bad_order = run("prune --scores " + d.file("r.npy") + tiny(d, "o3") + " prune.fraction=0.25 prune.scores_order=" + d.file("short.txt"));
  EXPECT_NE(bad_order.code, 0);
  EXPECT_NE(bad_order.out.find("prune.scores_order '"), std::string::npos) << bad_order.out;
  // +inf ranks as the hardest (data_diet's never learned); -inf is refused.
  v[5] = std::numeric_limits<float>::infinity();
  kdprune::io::write_npy_f32(d.file("inf.npy"), v);
  ASSERT_EQ(run("prune --scores " + d.file("inf.npy") + tiny(d, "i1") + " prune.fraction=0.01").code, 0);
  EXPECT_EQ(kdprune::io::read_npy_as_i64(d.path() + "/i1/subset.npy"), (std::vector<int64_t>{5}));
  auto ccs_inf = run("prune --scores " + d.file("inf.npy") + tiny(d, "i2") + " prune.fraction=0.25 prune.sampling=ccs");
  EXPECT_EQ(ccs_inf.code, 0) << ccs_inf.out;
  v[5] = -std::numeric_limits<float>::infinity();
  kdprune::io::write_npy_f32(d.file("ninf.npy"), v);
  auto ninf = run("prune --scores " + d.file("ninf.npy") + tiny(d, "i3") + " prune.fraction=0.25");
  EXPECT_NE(ninf.code, 0);
  EXPECT_NE(ninf.out.find("is -inf"), std::string::npos) << ninf.out;
  // Beta sampling refuses mean probabilities outside [0, 1].
  std::vector<float> mp(96, 0.5f);
  mp[3] = 1.5f;
  kdprune::io::write_npy_f32(d.file("mp.npy"), mp);
  auto bad_mp = run("prune --scores " + d.file("v.npy") + tiny(d, "m1") + " prune.fraction=0.25 prune.sampling=beta prune.mean_prob=" + d.file("mp.npy"));
  EXPECT_NE(bad_mp.code, 0);
  EXPECT_NE(bad_mp.out.find("is not a probability in [0, 1]"), std::string::npos) << bad_mp.out;
}
