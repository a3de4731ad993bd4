#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/thread_pool.h"

namespace onprem::core {
namespace {

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (size_t n : {0u, 1u, 2u, 7u, 1000u}) {
      std::vector<std::atomic<int>> hits(n);
      for (int rep = 0; rep < 3; ++rep)
        pool.parallel_for(n, [&](size_t b, size_t e) {
          for (size_t i = b; i < e; ++i) hits[i]++;
        });
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 3) << threads << " " << n << " " << i;
    }
    // Only jobs of two or more items on a pool with workers wake them: 3 reps of n = 2, 7, 1000.
    EXPECT_EQ(pool.dispatches(), threads > 1 ? 9u : 0u) << threads;
  }
}

// Many short jobs back to back, with chunks that sometimes sleep: workers wake late, find their job
// over, and must neither claim a chunk of the next job by mistake nor be waited for.
TEST(ThreadPool, BackToBackJobsWithStragglersCoverEachIndexOnce) {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> hits(64);
  uint32_t rng = 1;
  int expected_total = 0;
  for (int job = 0; job < 3000; ++job) {
    const size_t n = 1 + job % 40;
    expected_total += int(n);
    rng = rng * 1664525u + 1013904223u;
    const uint32_t sleeper = rng % 97;
    pool.parallel_for(n, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        if (i == sleeper) std::this_thread::sleep_for(std::chrono::microseconds(50));
        hits[i]++;
      }
    });
  }
  int total = 0;
  for (auto& h : hits) total += h.load();
  EXPECT_EQ(total, expected_total);
  for (size_t i = 0; i < 40; ++i) EXPECT_EQ(hits[i].load(), 75 * (40 - int(i))) << i;  // jobs with n > i
}

}  // namespace
}  // namespace onprem::core
