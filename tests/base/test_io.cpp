// .npy round trips and byte layout, atomic writes, run directories, training views.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>

#include <filesystem>
#include <fstream>
#include <set>
#include <algorithm>
#include <cstring>

#include "kdprune/data/train_view.h"
#include "kdprune/io/atomic_file.h"
#include "kdprune/io/csv_table.h"
#include "kdprune/io/index_list.h"
#include "kdprune/io/npy.h"
#include "kdprune/io/remove_tree.h"
#include "kdprune/io/run_dir.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using namespace kdprune;
using kdprune::test::read_bytes;
using kdprune::test::TempDir;
using kdprune::test::write_bytes;
namespace fs = std::filesystem;

TEST(Npy, HeaderLayoutMatchesNumpy) {
  TempDir d;
  io::write_npy_i64(d.file("a.npy"), {3, 1, 4});
  const std::string b = read_bytes(d.file("a.npy"));
  ASSERT_EQ(b.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t hlen = static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8);
  EXPECT_EQ((10 + hlen) % 64, 0u);
  EXPECT_EQ(b[10 + hlen - 1], '\n');
  EXPECT_NE(b.find("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"), std::string::npos);
  EXPECT_EQ(b.size(), 10 + hlen + 24);
  int64_t second;
  std::memcpy(&second, b.data() + 10 + hlen + 8, 8);
  EXPECT_EQ(second, 1);
}

TEST(Npy, RoundTripsAndConverts) {
  TempDir d;
  io::write_npy_f32(d.file("s.npy"), {0.5f, -2.25f, 1e-3f});
  auto s = io::read_npy_as_f64(d.file("s.npy"));
  ASSERT_EQ(s.size(), 3u);
  EXPECT_FLOAT_EQ(static_cast<float>(s[2]), 1e-3f);
  io::write_npy_i64(d.file("i.npy"), {});
  EXPECT_TRUE(io::read_npy_as_i64(d.file("i.npy")).empty());
  io::write_npy_f32(d.file("f.npy"), {2.0f, 7.0f});
  EXPECT_EQ(io::read_npy_as_i64(d.file("f.npy")), (std::vector<int64_t>{2, 7}));
}

TEST(Npy, RejectsWhatItCannotRead) {
  TempDir d;
  auto error_of = [&](const std::string& bytes) {
    write_bytes(d.file("x.npy"), bytes);
    try {
      io::read_npy_as_f64(d.file("x.npy"));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  auto npy = [](const std::string& header, size_t data_bytes) {
    std::string h = header;
    h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
    h += '\n';
    std::string b = std::string("\x93NUMPY\x01\x00", 8);
    b += static_cast<char>(h.size() & 0xff);
    b += static_cast<char>(h.size() >> 8);
    return b + h + std::string(data_bytes, '\0');
  };
  EXPECT_NE(error_of("hello").find("bad magic"), std::string::npos);
  EXPECT_NE(error_of(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8)).find("'>f4'"), std::string::npos);
  EXPECT_NE(error_of(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24)).find("1-D"), std::string::npos);
  EXPECT_NE(error_of(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8)).find("C order"), std::string::npos);
  EXPECT_NE(error_of(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 8)).find("expected 16 data bytes"), std::string::npos);
  EXPECT_EQ(error_of(npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", 8)), "");
  // A dict that is not closed (a cut header) is damage, whatever keys it holds.
  EXPECT_NE(error_of(npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), ", 8)).find("damaged .npy header"),
            std::string::npos);
  // Shapes beyond 64 bits or beyond the file: refused before anything is allocated.
  EXPECT_NE(error_of(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }", 8))
                .find("header shape (99999999999999999999,) needs more data than the file's 8 bytes"),
            std::string::npos);
  EXPECT_NE(error_of(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,), }", 8))
                .find("needs more data than the file's 8 bytes"),
            std::string::npos);
  // An integral float beyond int64 (1e30) as an index: named as such, not wrapped to INT64_MIN.
  std::string big = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 0);
  for (double v : {2.0, 1e30}) big.append(reinterpret_cast<const char*>(&v), 8);
  write_bytes(d.file("big.npy"), big);
  try {
    io::read_npy_as_i64(d.file("big.npy"));
    ADD_FAILURE() << "expected refusal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("item 1 (1e+30) is outside the integer range"), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, FailedWriteLeavesNothing) {
  TempDir d;
  io::write_file_atomic(d.file("a.txt"), "first");
  EXPECT_THROW(io::write_via_temp(d.file("a.txt"), [](const std::string& tmp) {
                 std::ofstream(tmp) << "half";
                 throw Error("killed mid-write");
               }),
               Error);
  EXPECT_EQ(read_bytes(d.file("a.txt")), "first");
  size_t files = 0;
  for (auto& e : fs::directory_iterator(d.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1u) << "the temporary was removed";
}

TEST(CsvTable, AppendsRowsAndQuotes) {
  TempDir d;
  io::CsvTable t(d.file("m.csv"), {"epoch", "note"});
  EXPECT_EQ(read_bytes(d.file("m.csv")), "epoch,note\n");
  t.append({"1", "a,b"});
  t.append({"2", io::csv_field(0.1)});
  EXPECT_EQ(read_bytes(d.file("m.csv")), "epoch,note\n1,\"a,b\"\n2,0.1\n");
}

TEST(RunDir, CreatesRefusesAndForces) {
  TempDir d;
  Config cfg = load_config("", {"train.epochs=3"});
  RunSection& run = cfg.run;
  run.root = d.path();
  run.name = "exp";
  {
    io::RunDir r = io::RunDir::create(cfg, "train-teacher", false);
    EXPECT_FALSE(io::RunDir::is_finished(r.path()));
    EXPECT_EQ(load_config(r.file("config.yaml"), {}).train.epochs, 3);
    // while this run lives, a second start on its name is refused, --force or not, naming the holder
    for (bool force : {false, true}) {
      try {
        io::RunDir::create(cfg, "train-teacher", force);
        ADD_FAILURE() << "expected refusal";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("in use by another kdprune process (pid " + std::to_string(::getpid()) + ")"),
                  std::string::npos) << e.what();
      }
    }
    EXPECT_THROW(io::RunDir::reopen(cfg, "train-teacher"), Error);
    r.write_summary({{"top1", 12.5}});
    EXPECT_TRUE(io::RunDir::is_finished(r.path()));
    auto s = nlohmann::json::parse(read_bytes(r.file("summary.json")));
    EXPECT_EQ(s["top1"], 12.5);
    EXPECT_EQ(s["command"], "train-teacher");
    EXPECT_TRUE(s.contains("wall_seconds"));
    EXPECT_TRUE(s["versions"].contains("git_commit"));
  }
  try {
    io::RunDir::create(cfg, "train-teacher", false);
    ADD_FAILURE() << "expected refusal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("finished"), std::string::npos);
  }
  io::RunDir again = io::RunDir::create(cfg, "train-teacher", true);
  EXPECT_FALSE(fs::exists(again.file("summary.json")));
  run.name = "";
  EXPECT_EQ(io::RunDir::create(cfg, "eval", false).name().rfind("eval-", 0), 0u);
  run.name = "a/b";
  EXPECT_THROW(io::RunDir::create(cfg, "eval", false), Error);
  run.name = std::string(300, 'x');
  try {
    io::RunDir::create(cfg, "eval", false);
    ADD_FAILURE() << "expected refusal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at most 240 characters, got 300"), std::string::npos) << e.what();
  }
}

// A start killed between creating the directory and renaming its config.yaml into place leaves
// only the write's temporary: --force (what `kdprune run` passes to start a stage again) takes it;
// a directory holding anything else stays refused.
TEST(RunDir, AStartKilledBeforeItsConfigIsStartedAgainWithForce) {
  TempDir d;
  Config cfg;
  cfg.run.root = d.path();
  cfg.run.name = "killed";
  fs::create_directories(d.file("killed"));
  write_bytes(d.file("killed/config.yaml.tmp.4242"), "run:\n  na");
  const io::RunDir r = io::RunDir::create(cfg, "train-teacher", true);
  EXPECT_TRUE(fs::exists(r.file("config.yaml")));
  EXPECT_FALSE(fs::exists(r.file("config.yaml.tmp.4242")));
  cfg.run.name = "foreign";
  fs::create_directories(d.file("foreign"));
  write_bytes(d.file("foreign/config.yaml.tmp.4242"), "");
  write_bytes(d.file("foreign/notes.txt"), "mine");
  EXPECT_THROW(io::RunDir::create(cfg, "train-teacher", true), Error);
  EXPECT_TRUE(fs::exists(d.file("foreign/notes.txt")));
}

TEST(RunDir, FailedStartRemovesTheDirectoryItCreated) {
  TempDir d;
  Config cfg;
  cfg.run.root = d.path();
  cfg.run.name = "full";
  // A file-size limit stands in for a full disk: config.yaml cannot be written, the start fails
  // and leaves no run directory behind to block the rerun.
  struct rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  struct rlimit tiny = old;
  tiny.rlim_cur = 16;  // bytes: config.yaml is longer
  signal(SIGXFSZ, SIG_IGN);
  setrlimit(RLIMIT_FSIZE, &tiny);
  EXPECT_THROW(io::RunDir::create(cfg, "train-teacher", false), Error);
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, SIG_DFL);
  EXPECT_FALSE(fs::exists(d.file("full")));
  io::RunDir ok = io::RunDir::create(cfg, "train-teacher", false);
  EXPECT_TRUE(fs::exists(ok.file("config.yaml")));
}

TEST(TrainView, FractionIsSeededSortedAndSized) {
  DataSection d;
  d.fraction = 0.3;
  auto a = data::select_train_indices(d, 1000, 5), b = data::select_train_indices(d, 1000, 5);
  auto c = data::select_train_indices(d, 1000, 6);
  EXPECT_EQ(a.size(), 300u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), 300u);
}

TEST(TrainView, DisjointSplitCoversTheSet) {
  auto p = data::disjoint_split(1001, 0.7, 3);
  EXPECT_EQ(p.teacher.size(), 701u);
  EXPECT_EQ(p.student.size(), 300u);
  std::set<int64_t> all(p.teacher.begin(), p.teacher.end());
  for (int64_t i : p.student) EXPECT_TRUE(all.insert(i).second) << "index " << i << " in both parts";
  EXPECT_EQ(all.size(), 1001u);
  EXPECT_EQ(*all.rbegin(), 1000);
  DataSection d;
  d.split = 0.7;
  d.part = "student";
  d.fraction = 0.5;
  auto s = data::select_train_indices(d, 1001, 3);
  EXPECT_EQ(s.size(), 150u);
  for (int64_t i : s) EXPECT_TRUE(std::binary_search(p.student.begin(), p.student.end(), i));
}

TEST(TrainView, SubsetFileIsChecked) {
  TempDir d;
  DataSection data;
  data.subset = d.file("s.npy");
  io::write_npy_i64(data.subset, {9, 2, 4});
  EXPECT_EQ(data::select_train_indices(data, 10, 0), (std::vector<int64_t>{2, 4, 9}));
  io::write_npy_i64(data.subset, {2, 10});
  EXPECT_THROW(data::select_train_indices(data, 10, 0), Error);
  io::write_npy_i64(data.subset, {2, 2});
  EXPECT_THROW(data::select_train_indices(data, 10, 0), Error);
}

// Subset and order files as researchers have them: .npy, one index per line, or .csv with an
// `index` column (quoted or not, after a byte-order mark or not). A headerless file with several
// columns, a ragged row or a number that is no index is refused, naming the line.
TEST(IndexList, NpyTextAndCsvGiveTheSameIndices) {
  kdprune::test::TempDir d;
  kdprune::test::write_bytes(d.file("a.txt"), "3\n1\n\n# a comment\n2\r\n");
  kdprune::test::write_bytes(d.file("b.csv"), "path,index,label\nx.png,3,0\ny.png, 1 ,4\nz.png,2,1\n");
  kdprune::test::write_bytes(d.file("c.csv"), "\xEF\xBB\xBF\"index\",\"score\"\n3,0.5\n1,0.25\n2,0.125\n");
  kdprune::io::write_npy_i64(d.file("d.npy"), {3, 1, 2});
  for (const char* f : {"a.txt", "b.csv", "c.csv", "d.npy"})
    EXPECT_EQ(kdprune::io::read_index_list(d.file(f), f), (std::vector<int64_t>{3, 1, 2})) << f;

  const auto error_of = [&](const std::string& text) {
    kdprune::test::write_bytes(d.file("bad.csv"), text);
    try {
      kdprune::io::read_index_list(d.file("bad.csv"), "data.subset 'bad.csv'");
    } catch (const kdprune::Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  const std::string at = "data.subset 'bad.csv': line ";
  EXPECT_EQ(error_of("1\n2.5\n"), at + "2 '2.5' is not a sample index (a whole number below 9e15)");
  EXPECT_EQ(error_of("path,label\nx,1\n"), at + "1 is a header without an 'index' column (got 'path,label')");
  EXPECT_EQ(error_of("name,index\nx,\n"), at + "2 '' is not a sample index (a whole number below 9e15) in column 2");
  EXPECT_EQ(error_of("1\n3e20\n"), at + "2 '3e20' is not a sample index (a whole number below 9e15)");
  EXPECT_EQ(error_of("99999999999999999999\n"), at + "1 '99999999999999999999' is not a sample index (a whole number below 9e15)");
  EXPECT_EQ(error_of("3,0.5\n1,0.25\n"),
            at + "1 has 2 columns but the file has no header naming the 'index' column (add a first line such as index,score)");
  EXPECT_EQ(error_of("index,score\n3,0.5\n1\n"), at + "3 has 1 field(s), the first line 2 (a ragged row)");
}

TEST(IndexList, SubsetFromATextFile) {
  kdprune::test::TempDir d;
  kdprune::test::write_bytes(d.file("s.txt"), "7\n2\n5\n");
  kdprune::DataSection data;
  data.subset = d.file("s.txt");
  EXPECT_EQ(kdprune::data::select_train_indices(data, 10, 0), (std::vector<int64_t>{2, 5, 7}));
  kdprune::test::write_bytes(d.file("s.txt"), "7\n12\n");
  try {
    kdprune::data::select_train_indices(data, 10, 0);
    ADD_FAILURE() << "accepted";
  } catch (const kdprune::Error& e) {
    EXPECT_NE(std::string(e.what()).find("index 12 is outside the training set of 10 samples"), std::string::npos) << e.what();
  }
}

// remove_tree stands in for std::filesystem::remove_all (see io/remove_tree.h): the same count,
// links removed and not followed, a missing path 0 and no error.
TEST(RemoveTree, RemovesATreeAndCountsAsRemoveAll) {
  kdprune::test::TempDir d;
  const std::string outside = d.file("keep/target.txt"), tree = d.file("tree");
  kdprune::test::write_bytes(outside, "kept");
  kdprune::test::write_bytes(tree + "/a.txt", "1");
  kdprune::test::write_bytes(tree + "/sub/deeper/b.bin", "22");
  std::filesystem::create_directories(tree + "/empty");
  std::filesystem::create_symlink(d.file("keep"), tree + "/sub/link");  // to a directory outside
  std::error_code ec;
  // tree, a.txt, sub, deeper, b.bin, empty, link: 7 entries, as remove_all counts them.
  EXPECT_EQ(kdprune::io::remove_tree(tree, ec), 7u) << ec.message();
  EXPECT_FALSE(ec);
  EXPECT_FALSE(std::filesystem::exists(tree));
  EXPECT_TRUE(std::filesystem::exists(outside)) << "a link's target is not removed";
  EXPECT_EQ(kdprune::io::remove_tree(tree, ec), 0u);
  EXPECT_FALSE(ec) << "a missing path is not an error";
  EXPECT_EQ(kdprune::io::remove_tree(outside, ec), 1u) << "a single file";
  EXPECT_FALSE(std::filesystem::exists(outside));
}
