#include <random>

#include <gtest/gtest.h>

#include "sample/loop_guard.h"

namespace onprem::sample {
namespace {

TEST(LoopGuard, FindsAPlantedLoopWhereItBecomesOne) {
  for (int period : {1, 3, 7, 20}) {
    LoopGuard g(LoopGuardOptions{32, 4, 24});
    std::mt19937 rng(static_cast<uint32_t>(period));
    for (int i = 0; i < 300; ++i) ASSERT_FALSE(g.push(int32_t(1000 + rng() % 5000))) << "false positive at " << i;
    std::vector<int32_t> block;
    for (int i = 0; i < period; ++i) block.push_back(int32_t(i));
    // The loop is complete once max(4 copies, 24 tokens) of it are in the tail.
    const int needed = std::max(4 * period, 24);
    int fired_at = -1;
    for (int i = 0; i < 200 && fired_at < 0; ++i)
      if (g.push(block[size_t(i % period)])) fired_at = i + 1;
    EXPECT_EQ(fired_at, needed) << "period " << period;
    EXPECT_EQ(g.period() % period, 0);
  }
}

TEST(LoopGuard, RandomTextNeverTriggers) {
  LoopGuard g;
  std::mt19937 rng(5);
  for (int i = 0; i < 100000; ++i) ASSERT_FALSE(g.push(int32_t(rng() % 50)));  // small alphabet, still no long loop
}

TEST(LoopGuard, LongerPeriodsAreOutOfScope) {
  LoopGuard g(LoopGuardOptions{8, 3, 8});
  bool fired = false;
  for (int i = 0; i < 200; ++i) fired |= g.push(int32_t(i % 10));  // period 10 > max_period 8
  EXPECT_FALSE(fired);
}

}  // namespace
}  // namespace onprem::sample
