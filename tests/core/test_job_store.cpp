// The job store's readiness barrier (dist::JobStore, what data-parallel ranks pass once their data
// are loaded), over an in-process store with ranks as threads: all ready, one rank's failure
// stopping the others at once (the store's server waiting until they have read it), and the ranks
// still missing named after the timeout.
#include <gtest/gtest.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "kdprune/dist/job_store.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using kdprune::dist::JobStore;
using kdprune::test::error_of;
using namespace std::chrono_literals;

TEST(JobStore, ReturnsOnceEveryRankIsReady) {
  auto store = c10::make_intrusive<c10d::HashStore>();
  JobStore a(store, 0, 3, 10s), b(store, 1, 3, 10s), c(store, 2, 3, 10s);
  auto fa = std::async(std::launch::async, [&] { a.wait_all_ready("loaded its data"); });
  auto fb = std::async(std::launch::async, [&] { b.wait_all_ready("loaded its data"); });
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(fa.wait_for(0ms), std::future_status::timeout) << "rank 2 is not ready yet";
  c.wait_all_ready("loaded its data");
  EXPECT_NO_THROW(fa.get());
  EXPECT_NO_THROW(fb.get());
}

TEST(JobStore, ARankThatFailedStopsTheOthersWithItsReason) {
  auto store = c10::make_intrusive<c10d::HashStore>();
  JobStore a(store, 0, 2, 60s), b(store, 1, 2, 60s);
  const auto start = std::chrono::steady_clock::now();
  auto waiting = std::async(std::launch::async, [&] { return error_of([&] { a.wait_all_ready("loaded its data"); }); });
  std::this_thread::sleep_for(30ms);
  b.report_failure("while loading its data: 'x.jpg': truncated\nsecond line");
  b.report_failure("a later reason");  // the first report stays
  EXPECT_EQ(waiting.get(), "data-parallel: rank 1 failed: while loading its data: 'x.jpg': truncated; rank 0 of 2 stops too");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s) << "not the 60 s timeout";
}

TEST(JobStore, NamesTheRanksStillMissingAfterTheTimeout) {
  auto store = c10::make_intrusive<c10d::HashStore>();
  JobStore a(store, 0, 3, 200ms), c(store, 2, 3, 200ms);
  store->set("/kdprune/ready/2", std::vector<uint8_t>{'1'});
  EXPECT_EQ(error_of([&] { a.wait_all_ready("loaded its data"); }),
            "data-parallel: rank 0 of 3: rank(s) 1 had not loaded its data after 200 ms (KDPRUNE_DIST_TIMEOUT)");
}

TEST(JobStore, TheStoresServerWaitsForTheOthersToReadItsFailure) {
  auto store = c10::make_intrusive<c10d::HashStore>();
  JobStore server(store, 0, 3, 60s, "", /*serves=*/true), b(store, 1, 3, 60s), c(store, 2, 3, 60s);
  auto rb = std::async(std::launch::async, [&] { return error_of([&] { b.wait_all_ready("loaded its data"); }); });
  auto rc = std::async(std::launch::async, [&] { return error_of([&] { c.wait_all_ready("loaded its data"); }); });
  std::this_thread::sleep_for(30ms);
  server.report_failure("while loading its data: no such folder");
  // Returned once both had read the report: their answers are ready now.
  EXPECT_EQ(rb.wait_for(0ms), std::future_status::ready);
  EXPECT_EQ(rc.wait_for(0ms), std::future_status::ready);
  EXPECT_EQ(rb.get(), "data-parallel: rank 0 failed: while loading its data: no such folder; rank 1 of 3 stops too");
  EXPECT_NE(rc.get().find("rank 0 failed"), std::string::npos);
}
