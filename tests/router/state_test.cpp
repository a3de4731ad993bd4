// The router's state: the ledger (sums, and a reopen loses nothing), rate limits over a sliding
// minute, replica picking, circuit breakers.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>
#include <unistd.h>

#include "router/ledger.h"
#include "router/limits.h"
#include "router/pool.h"

using namespace onprem::router;

TEST(Ledger, SumsByGroupAndSurvivesReopening) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("ledger_test_" + std::to_string(::getpid()) + ".sqlite")).string();
  std::filesystem::remove(path);
  double cost = 0, api = 0;
  int64_t tin = 0;
  {
    auto l = Ledger::open(path);
    ASSERT_TRUE(l.ok()) << l.error().to_string();
    for (int i = 0; i < 30; ++i) {
      LedgerEntry e;
      e.ts_ms = 1795900000000 + int64_t(i) * 3600 * 1000 * 6;  // spans several days
      e.key = std::string(i % 3 ? "k1" : "k2");
      e.team = std::string(i % 2 ? "a" : "b");
      e.backend = std::string(i % 5 ? "local" : "api");
      e.tokens_in = 100 + i, e.tokens_out = 10 + i, e.cost_usd = 0.001 * i, e.api_cost_usd = 0.003 * i, e.status = 200;
      cost += e.cost_usd, api += e.api_cost_usd, tin += e.tokens_in;
      ASSERT_TRUE((*l)->record(e).ok());
    }
  }
  auto l = Ledger::open(path);  // a restart
  ASSERT_TRUE(l.ok());
  auto s = (*l)->summary();
  ASSERT_TRUE(s.ok());
  const auto& t = (*s)["total"];
  EXPECT_EQ(t["requests"], 30);
  EXPECT_EQ(t["tokens_in"], tin);
  EXPECT_NEAR(t["cost_usd"].get<double>(), cost, 1e-12);
  EXPECT_NEAR(t["savings_usd"].get<double>(), api - cost, 1e-12);
  for (const char* g : {"by_key", "by_team", "by_backend", "by_day"}) {
    int64_t n = 0;
    double c = 0;
    for (const auto& row : (*s)[g]) n += row["requests"].get<int64_t>(), c += row["cost_usd"].get<double>();
    EXPECT_EQ(n, 30) << g;
    EXPECT_NEAR(c, cost, 1e-12) << g;
  }
  EXPECT_GT((*s)["by_day"].size(), 5u);
  EXPECT_NEAR((*l)->spent_by_key("k2"), 0.001 * (0 + 3 + 6 + 9 + 12 + 15 + 18 + 21 + 24 + 27), 1e-12);
  std::filesystem::remove(path);
  EXPECT_FALSE(Ledger::open("/nonexistent-dir/x.sqlite").ok());
}

TEST(Limits, RequestsAndTokensPerSlidingMinute) {
  RateLimiter rl;
  KeyConfig k;
  k.key = "k", k.name = "n", k.requests_per_minute = 3, k.tokens_per_minute = 1000;
  const auto t0 = RateLimiter::Clock::now();
  uint64_t id = 0;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(rl.admit(k, 10, &id, t0 + std::chrono::seconds(i)).ok);
  LimitVerdict v = rl.admit(k, 10, &id, t0 + std::chrono::seconds(10));
  EXPECT_FALSE(v.ok);
  EXPECT_NEAR(v.retry_after_s, 50, 1e-6);  // the first request leaves the window at t0 + 60
  EXPECT_TRUE(rl.admit(k, 10, &id, t0 + std::chrono::seconds(61)).ok);
  // Tokens: charged at admission, settled to the real count.
  KeyConfig t;
  t.key = "t", t.name = "t", t.tokens_per_minute = 1000;
  uint64_t a = 0, b = 0;
  EXPECT_TRUE(rl.admit(t, 900, &a, t0).ok);
  EXPECT_FALSE(rl.admit(t, 200, &b, t0 + std::chrono::seconds(1)).ok);
  rl.settle(t, a, 100);  // it used far fewer than it asked for
  EXPECT_TRUE(rl.admit(t, 200, &b, t0 + std::chrono::seconds(2)).ok);
  v = rl.admit(t, 5000, &b, t0 + std::chrono::seconds(3));
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.retry_after_s, 60);
}

namespace {
RouterConfig two_replicas(int max_concurrency) {
  RouterConfig c;
  BackendConfig b;
  b.name = "b", b.urls = {"http://r1:1", "http://r2:2"}, b.max_concurrency = max_concurrency;
  c.backends = {b};
  c.breaker_failures = 2, c.breaker_open_s = 0.05, c.affinity_slack = 1;
  return c;
}
}  // namespace

TEST(Pool, LeastOutstandingWithConversationAffinity) {
  RouterConfig c = two_replicas(8);
  Pool p(c);
  PickStatus why;
  // The same conversation lands on the same replica while load is even.
  Replica* home = p.pick("b", "conv-1", {}, &why).replica();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p.pick("b", "conv-1", {}, &why).replica(), home);
  // Load the home replica past the slack: the next request goes to the other one.
  std::vector<Lease> held;
  for (int i = 0; i < 2; ++i) held.push_back(p.pick("b", "conv-1", {}, &why));
  Lease other = p.pick("b", "conv-1", {}, &why);
  EXPECT_NE(other.replica(), home);
  held.clear();
  // Different conversations spread over both replicas.
  std::set<Replica*> seen;
  for (int i = 0; i < 40; ++i) seen.insert(p.pick("b", "conv-" + std::to_string(i), {}, &why).replica());
  EXPECT_EQ(seen.size(), 2u);
}

TEST(Pool, SaturationAndBreakers) {
  RouterConfig c = two_replicas(1);
  Pool p(c);
  PickStatus why;
  Lease a = p.pick("b", "x", {}, &why), b = p.pick("b", "y", {}, &why);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(p.pick("b", "z", {}, &why));
  EXPECT_EQ(why, PickStatus::kSaturated);
  Replica* r1 = a.replica();
  a.failure();
  a = Lease();
  Lease again = p.pick("b", "x", {}, &why);
  ASSERT_EQ(again.replica(), r1);
  again.failure();  // second consecutive failure: the breaker opens
  again = Lease();
  b = Lease();
  for (int i = 0; i < 5; ++i) EXPECT_NE(p.pick("b", "k" + std::to_string(i), {}, &why).replica(), r1);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  // Half-open: exactly one trial at a time.
  const std::vector<const Replica*> not_r2 = {p.replicas_of("b")[0] == r1 ? p.replicas_of("b")[1]
                                                                          : p.replicas_of("b")[0]};
  Lease trial = p.pick("b", "t", not_r2, &why);
  ASSERT_EQ(trial.replica(), r1);
  EXPECT_FALSE(p.pick("b", "t2", not_r2, &why));
  trial.success();  // closes it
  trial = Lease();
  EXPECT_EQ(p.pick("b", "t3", not_r2, &why).replica(), r1);
  // Health checks take a replica out entirely, after health_failures misses in a row.
  c.health_failures = 2;
  p.health_check_result(r1, false);
  EXPECT_EQ(p.pick("b", "t5", not_r2, &why).replica(), r1);  // one late answer is not an outage
  p.health_check_result(r1, false);
  EXPECT_FALSE(p.pick("b", "t4", not_r2, &why));
  EXPECT_EQ(why, PickStatus::kUnavailable);
  p.health_check_result(r1, true);
  EXPECT_EQ(p.pick("b", "t6", not_r2, &why).replica(), r1);
}
