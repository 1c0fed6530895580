// kdprune run's results: the accuracy table (means over seeds, one column per condition) and the
// results CSV read from run directories.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "kdprune/config/config.h"
#include "kdprune/pipeline/results.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using namespace kdprune;
using namespace kdprune::pipeline;
using kdprune::test::TempDir;
using kdprune::test::write_bytes;
namespace fs = std::filesystem;

namespace {
ResultRow row(const std::string& pruner, double f, double alpha, int64_t seed, double best, double last = 0) {
  ResultRow r;
  r.dataset = "fashion-mnist";
  r.pruner = pruner;
  r.level = pruner == "random" || pruner == "none" ? "" : "hard";
  r.f = f;
  r.alpha = alpha;
  r.teacher_arch = alpha > 0 ? "resnet20" : "";
  if (alpha > 0) r.teacher_f = 1.0, r.teacher_top1 = 90.5;
  r.seed = seed;
  r.best_top1 = best;
  r.top1 = last;
  return r;
}
}  // namespace

TEST(Pipeline, AccuracyTableMeansOverSeedsAndSpreadsFullData) {
  const std::vector<ResultRow> rows = {row("random", 0.1, 0, 0, 80), row("random", 0.1, 0, 1, 82),
                                       row("random", 0.1, 0.5, 0, 85), row("forgetting", 0.1, 0, 0, 70),
                                       row("forgetting", 0.1, 0.5, 0, 75), row("none", 1.0, 0, 0, 93)};
  const std::string t = accuracy_table(rows);
  // header: f, then pruner x {no KD, KD}
  EXPECT_NE(t.find("| random / no KD"), std::string::npos) << t;
  EXPECT_NE(t.find("forgetting / KD"), std::string::npos) << t;
  EXPECT_NE(t.find("81.00 ± 1.41 (2)"), std::string::npos) << t;  // mean 81, sample std sqrt(2)
  EXPECT_NE(t.find("| 85.00"), std::string::npos) << t;
  // f = 1 (pruner none) fills both pruners' no-KD columns, and has no KD entry
  const auto line = t.substr(t.find("\n| 1 "));
  EXPECT_NE(line.find("93.00"), line.rfind("93.00")) << line;  // twice
  EXPECT_NE(line.find(" - "), std::string::npos) << line;
  EXPECT_NE(t.find("best test top-1"), std::string::npos) << t;  // the paper's metric by default, and said so
  EXPECT_NE(t.find("between seeds:"), std::string::npos) << t;
  // --metric last: the final epoch's accuracy
  const std::string last = accuracy_table({row("random", 0.1, 0, 0, 80, 78.5)}, "last");
  EXPECT_NE(last.find("| 78.50"), std::string::npos) << last;
  EXPECT_NE(last.find("final epoch"), std::string::npos) << last;
  EXPECT_THROW(accuracy_table({row("random", 0.1, 0, 0, 80)}, "median"), kdprune::Error);
}

// The table's columns do not depend on the rows' order (kdprune run's plan order and kdprune
// results' folder order give one table), and each teacher's own top-1 follows it.
TEST(Pipeline, AccuracyTableOrderIsTheRowsOrderFreeAndNamesTheTeacher) {
  std::vector<ResultRow> rows = {row("forgetting", 0.1, 0.5, 0, 75), row("random", 0.1, 0.5, 0, 85),
                                 row("forgetting", 0.1, 0, 0, 70), row("random", 0.1, 0, 0, 80)};
  const std::string t = accuracy_table(rows);
  std::reverse(rows.begin(), rows.end());
  EXPECT_EQ(accuracy_table(rows), t);
  const std::string header = t.substr(0, t.find('\n'));
  EXPECT_LT(header.find("random / no KD"), header.find("random / KD")) << header;
  EXPECT_LT(header.find("random / KD"), header.find("forgetting / no KD")) << header;
  EXPECT_NE(t.find("teacher test top-1 %: resnet20 (f_t 1) 90.50\n"), std::string::npos) << t;
  // A teacher of unknown f_t (a PyTorch file) says so; no teacher with a top-1, no line.
  rows.push_back(row("random", 0.1, 0.5, 1, 86));
  rows.back().teacher_arch = "resnet8", rows.back().teacher_f.reset(), rows.back().teacher_top1 = 80.25;
  const std::string two = accuracy_table(rows);
  EXPECT_NE(two.find("resnet20 (f_t 1) 90.50; resnet8 (f_t unknown) 80.25"), std::string::npos) << two;
  EXPECT_NE(two.find("KD resnet8@ft?"), std::string::npos) << two;
  EXPECT_EQ(accuracy_table({row("random", 0.1, 0, 0, 80)}).find("teacher test top-1"), std::string::npos);
}

TEST(Pipeline, ResultsCsvQuotesAndReadsRunDirectories) {
  TempDir d;
  // A score run, a prune run pointing at it, and a student run using that subset.
  fs::create_directories(d.file("score"));
  write_bytes(d.file("score/scores.json"), R"({"method": "el2n"})");
  write_bytes(d.file("score/scores.npy"), "");
  fs::create_directories(d.file("prune"));
  write_bytes(d.file("prune/subset.json"), nlohmann::json{{"method", "scores"}, {"level", "easy"}, {"class_balanced", false},
                                                           {"scores", d.file("score/scores.npy")}}.dump());
  fs::create_directories(d.file("teacher"));
  write_bytes(d.file("teacher/summary.json"), R"({"f": 0.5})");
  fs::create_directories(d.file("student"));
  Config c = load_config("", {"data.subset=" + d.file("prune/subset.npy"), "kd.teacher=" + d.file("teacher/model.pt")});
  write_bytes(d.file("student/config.yaml"), to_yaml(c));
  write_bytes(d.file("student/summary.json"),
              nlohmann::json{{"dataset", "fashion-mnist"}, {"arch", "resnet8"}, {"f", 0.1}, {"seed", 2}, {"top1", 88.5},
                             {"top5", 99.0}, {"alpha", 0.5}, {"tau", 4.0}, {"teacher_arch", "resnet20"},
                             {"wall_seconds", 12.345}, {"subset_size", 6000}, {"best_top1", 89.25}, {"best_epoch", 7},
                             {"teacher_top1", 91.5}}.dump());
  const ResultRow r = read_result(d.file("student"));
  EXPECT_EQ(r.pruner, "el2n");
  EXPECT_EQ(r.level, "easy");
  EXPECT_EQ(r.teacher_f, std::optional<double>(0.5));
  EXPECT_EQ(r.teacher_arch, "resnet20");
  EXPECT_EQ(r.seed, 2);
  const std::string csv = results_csv({r});
  EXPECT_NE(csv.find("fashion-mnist,el2n,easy,false,,0.1,0.5,constant,4,resnet20,0.5,,all,resnet8,2,6000,88.5,99,89.25,7,12.35,"),
            std::string::npos) << csv;
  // The header names every field of a row.
  const std::string header = csv.substr(0, csv.find('\n'));
  const std::string line = csv.substr(csv.find('\n') + 1);
  EXPECT_EQ(std::count(header.begin(), header.end(), ','), std::count(line.begin(), line.end(), ',')) << csv;
  EXPECT_EQ(header.find("teacher_f,teacher_part,data_part"), header.find("teacher_f")) << header;
  EXPECT_EQ(r.teacher_top1, std::optional<double>(91.5));
  EXPECT_EQ(csv.substr(csv.size() - 11), ",91.5,test\n") << "teacher_top1 and best_by, the last columns: " << csv;
  // A PyTorch teacher (no train-teacher run beside the file): f_t unknown, an empty field, never 0.
  Config py = c;
  py.kd.teacher = d.file("elsewhere/t8.pth");
  write_bytes(d.file("student/config.yaml"), to_yaml(py));
  const ResultRow p = read_result(d.file("student"));
  EXPECT_FALSE(p.teacher_f.has_value());
  EXPECT_NE(results_csv({p}).find(",resnet20,,,all,resnet8,"), std::string::npos) << results_csv({p});
  ResultRow odd = r;
  odd.run_dir = "a,\"b\"";
  EXPECT_NE(results_csv({odd}).find(",\"a,\"\"b\"\"\",,0,"), std::string::npos);
  // The precision the run's config.yaml records.
  c.train.amp = "bf16", c.train.channels_last = "true";
  write_bytes(d.file("student/config.yaml"), to_yaml(c));
  EXPECT_EQ(read_result(d.file("student")).precision, "bf16+CL");
  c.train.amp = "off", c.train.channels_last = "false";
  write_bytes(d.file("student/config.yaml"), to_yaml(c));
  EXPECT_EQ(read_result(d.file("student")).precision, "fp32");
  EXPECT_NE(csv.find("," + r.precision + ",91.5,test\n"), std::string::npos) << "precision, teacher_top1, best_by: " << csv;
  // With data.val_split the best epoch was chosen on validation samples: best_by says so.
  auto summary = nlohmann::json::parse(kdprune::test::read_bytes(d.file("student/summary.json")));
  summary["best_chosen_by"] = "validation";
  summary["best_val_top1"] = 91.0;
  write_bytes(d.file("student/summary.json"), summary.dump());
  const ResultRow v = read_result(d.file("student"));
  EXPECT_EQ(v.best_by, "validation");
  EXPECT_DOUBLE_EQ(v.best_top1, 89.25) << "best_top1 stays the test top-1 (of the chosen epoch)";
  EXPECT_NE(results_csv({v}).find(",91.5,validation\n"), std::string::npos);
  const std::string table = accuracy_table({v});
  EXPECT_NE(table.find("epoch with the best validation top-1"), std::string::npos) << table;
  const std::string mixed = accuracy_table({r, v});
  EXPECT_NE(mixed.find("best by validation"), std::string::npos) << mixed;
  EXPECT_NE(mixed.find("best by test"), std::string::npos) << mixed;
  EXPECT_THROW(read_result(d.file("prune")), Error);  // not a finished run
}

TEST(Pipeline, AccuracyTableKeepsDisjointAndSharedTeachersApart) {
  // A disjoint-split experiment and its control: same teacher architecture and f_t, trained on the
  // other part or on the students' own part. They are two conditions, not two seeds.
  auto kd = [](const std::string& teacher_part, double best) {
    ResultRow r = row("random", 0.1, 0.5, 0, best);
    r.data_part = "student";
    r.teacher_part = teacher_part;
    return r;
  };
  const std::string t = accuracy_table({kd("teacher", 80), kd("student", 84)});
  EXPECT_NE(t.find("KD resnet20 (teacher part)"), std::string::npos) << t;
  EXPECT_NE(t.find("KD resnet20 (same part)"), std::string::npos) << t;
  EXPECT_EQ(t.find("±"), std::string::npos) << "no condition averaged with another: " << t;
}

// Conditions that differ besides pruner, f and alpha (student architecture, tau, dataset) are
// columns of their own, never averaged as seeds; the teacher is always named.
TEST(Pipeline, AccuracyTableGroupsByEveryDifferingCondition) {
  auto r = [](const std::string& student, double tau, double alpha, int64_t seed, double best) {
    ResultRow x = row("random", 0.1, alpha, seed, best);
    x.student_arch = student;
    x.tau = tau;
    return x;
  };
  const std::string t = accuracy_table({r("resnet8", 4, 0.5, 0, 80), r("resnet8", 4, 0.5, 1, 82),
                                        r("resnet14", 4, 0.5, 0, 90), r("resnet8", 2, 0.5, 0, 70),
                                        r("resnet8", 4, 0, 0, 60), r("resnet14", 4, 0, 0, 65)});
  EXPECT_NE(t.find("random resnet8 student / KD tau=4 resnet20"), std::string::npos) << t;
  EXPECT_NE(t.find("random resnet14 student / KD tau=4 resnet20"), std::string::npos) << t;
  EXPECT_NE(t.find("random resnet8 student / KD tau=2 resnet20"), std::string::npos) << t;
  EXPECT_NE(t.find("random resnet8 student / no KD"), std::string::npos) << t;
  EXPECT_NE(t.find("81.00 ± 1.41 (2)"), std::string::npos) << t;  // only the two seeds of one condition
  EXPECT_EQ(t.find("(2)"), t.rfind("(2)")) << "one averaged cell only: " << t;
  // Seeds trained in two precisions (train.amp=auto on two machines) are two conditions.
  ResultRow bf16 = r("resnet8", 4, 0.5, 2, 84);
  bf16.precision = "bf16+CL";
  const std::string mixed = accuracy_table({r("resnet8", 4, 0.5, 0, 80), r("resnet8", 4, 0.5, 1, 82), bf16});
  EXPECT_NE(mixed.find("random fp32 / KD resnet20"), std::string::npos) << mixed;
  EXPECT_NE(mixed.find("random bf16+CL / KD resnet20"), std::string::npos) << mixed;
  EXPECT_NE(mixed.find("81.00 ± 1.41 (2)"), std::string::npos) << mixed;
  // One teacher, one condition: the KD column still names the teacher.
  EXPECT_NE(accuracy_table({row("random", 0.1, 0.5, 0, 80)}).find("random / KD resnet20"), std::string::npos);
}
