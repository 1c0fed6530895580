// `kdprune theory ridge` end to end: the printed table and verdicts, the CSV (one row per f_t and
// α, the student's own f added as the reference), and inputs outside the theorem's domain.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "kdprune/io/atomic_file.h"
#include "run_cli.h"
#include "test_files.h"

using namespace kdprune;

TEST(TheoryCli, RidgeTablePrintsVerdictsAndWritesCsv) {
  test::TempDir d;
  const auto r = test::run("theory ridge --d 6 --n 30 --f 0.2 --ft 0.5,1 --lambda 0.5 --alphas 0:1:0.5 --mc 500 --out " +
                           d.file("ridge.csv"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("n_f = 6"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("f_t = 0.5: this θ*:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("f_t = 1: this θ*:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("isotropic θ*: <= for α in [0, "), std::string::npos) << r.out;
  std::istringstream csv(io::read_file(d.file("ridge.csv")));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line.rfind("d,n,lambda,sigma,seed,f,n_f,f_t,n_t,alpha,bias2,variance,total,", 0), 0u) << line;
  int rows = 0;
  while (std::getline(csv, line)) {
    ++rows;
    std::vector<std::string> v;
    std::stringstream cells(line);
    for (std::string c; std::getline(cells, c, ',');) v.push_back(c);
    ASSERT_EQ(v.size(), 19u) << line;
    EXPECT_NEAR(std::stod(v[12]), std::stod(v[10]) + std::stod(v[11]), 1e-12) << line;  // total = bias² + variance
    EXPECT_FALSE(v[17].empty()) << "Monte Carlo column: " << line;
    if (v[7] == "0.2") EXPECT_EQ(v[14], "0") << "the reference row compares with itself: " << line;
  }
  EXPECT_EQ(rows, 9) << "f_t = 0.2 (added), 0.5, 1 times 3 values of α";
}

TEST(TheoryCli, InputsOutsideTheDomainAreOneLineAndWriteNothing) {
  test::TempDir d;
  const std::string out = " --out " + d.file("t.csv");
  test::expect_one_line_error(test::run("theory ridge --lambda 0" + out), "--lambda: the ridge penalty must be > 0");
  test::expect_one_line_error(test::run("theory ridge --lambda -1" + out), "--lambda");
  test::expect_one_line_error(test::run("theory ridge --f 1.5" + out), "--f: the student's fraction must lie in (0, 1], got 1.5");
  test::expect_one_line_error(test::run("theory ridge --f 0.5 --ft 0.3" + out), "--ft: a teacher's fraction must lie in [f, 1]");
  test::expect_one_line_error(test::run("theory ridge --ft 1.2" + out), "--ft");
  test::expect_one_line_error(test::run("theory ridge --alphas 0:1" + out), "--alphas: '0:1': expected start:stop:step");
  test::expect_one_line_error(test::run("theory ridge --alphas 0,x" + out), "--alphas: 'x' in '0,x' is not a finite number");
  test::expect_one_line_error(test::run("theory ridge --alphas -0.5" + out), "--alphas: each α must be a finite number >= 0");
  test::expect_one_line_error(test::run("theory ridge --f 0.001 --n 100" + out), "--f: f·n = 0.1 rounds to no sample");
  test::expect_one_line_error(test::run("theory ridge --mc 1" + out), "--mc");
  EXPECT_FALSE(std::filesystem::exists(d.file("t.csv")));
}

TEST(TheoryCli, AloneItNamesTheCheckToRun) {
  const auto r = test::run("theory");
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("kdprune theory: name the check to run: kdprune theory ridge"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("is required"), std::string::npos) << r.out;
}
