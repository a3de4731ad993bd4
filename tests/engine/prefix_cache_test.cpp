// The prefix cache's decisions on plain data, without a model: how much of a prompt a kept
// sequence supplies, what a restore keeps, and which snapshots go when memory runs out.
#include <gtest/gtest.h>

#include "engine/prefix_cache.h"

namespace onprem::engine {
namespace {

Snapshot at(int64_t pos, uint64_t last_used = 0, size_t floats = 0) {
  Snapshot s;
  s.pos = pos, s.last_used = last_used;
  s.conv = {std::vector<float>(floats, 1.0f), {}};
  s.ssm = {{}, {}};
  return s;
}

TEST(PrefixCache, ReusablePrefix) {
  const std::vector<int32_t> history = {1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<Snapshot> snaps = {at(2), at(4), at(6)};
  // The prompt extends the whole history: the live state itself.
  EXPECT_EQ(reusable_prefix(history, snaps, {1, 2, 3, 4, 5, 6, 7, 8, 9}), 8);
  // Diverges at 5 (common prefix 5): the latest snapshot at or below it.
  EXPECT_EQ(reusable_prefix(history, snaps, {1, 2, 3, 4, 5, 0, 0}), 4);
  // Diverges at 1: no snapshot fits.
  EXPECT_EQ(reusable_prefix(history, snaps, {1, 9, 9}), 0);
  // The very same tokens: one must be left to evaluate, so the snapshot below the end.
  EXPECT_EQ(reusable_prefix(history, snaps, history), 6);
  // A prompt that is a strict prefix of the history: a snapshot inside it, leaving one token.
  EXPECT_EQ(reusable_prefix(history, snaps, {1, 2, 3, 4, 5}), 4);
  EXPECT_EQ(reusable_prefix(history, snaps, {1, 2, 3, 4}), 2);
  // Nothing kept.
  EXPECT_EQ(reusable_prefix({}, {}, {1, 2}), 0);
}

model::SequenceState recurrent_state(int64_t n_past, float value) {
  model::SequenceState st;
  st.n_ctx = 16, st.n_past = n_past;
  st.conv = {std::vector<float>(3, value), {}};  // layer 0 recurrent, layer 1 attention
  st.ssm = {std::vector<float>(4, value), {}};
  st.k = {{}, std::vector<float>(16, value)};
  st.v = {{}, std::vector<float>(16, value)};
  return st;
}

TEST(PrefixCache, SnapshotAndRestore) {
  model::SequenceState st = recurrent_state(4, 1.0f);
  std::vector<int32_t> history = {1, 2, 3, 4};
  std::vector<Snapshot> snaps = {take_snapshot(st, 10)};
  EXPECT_EQ(snaps[0].pos, 4);
  EXPECT_EQ(snaps[0].conv[0], std::vector<float>(3, 1.0f));
  EXPECT_TRUE(snaps[0].conv[1].empty());  // attention layers keep their KV in place
  EXPECT_EQ(snaps[0].bytes(), (3 + 4) * sizeof(float));
  // The sequence runs on to 8 and is snapshotted there too.
  st = recurrent_state(8, 2.0f);
  history = {1, 2, 3, 4, 5, 6, 7, 8};
  snaps.push_back(take_snapshot(st, 11));
  // Back to 4: the recurrent state from the snapshot, history and n_past cut, the later snapshot
  // dropped, the used one stamped.
  restore(st, history, snaps, 4, 12);
  EXPECT_EQ(st.n_past, 4);
  EXPECT_EQ(history, (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(st.conv[0], std::vector<float>(3, 1.0f));
  EXPECT_EQ(st.ssm[0], std::vector<float>(4, 1.0f));
  EXPECT_EQ(st.k[1], std::vector<float>(16, 2.0f));  // KV below 4 is reused as it is
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].last_used, 12u);
  // Restoring the live length changes nothing in the state.
  restore(st, history, snaps, 4, 13);
  EXPECT_EQ(st.n_past, 4);
  EXPECT_EQ(history.size(), 4u);
  // 0 empties the sequence.
  restore(st, history, snaps, 0, 14);
  EXPECT_EQ(st.n_past, 0);
  EXPECT_TRUE(history.empty());
  EXPECT_TRUE(snaps.empty());
}

TEST(PrefixCache, EvictionTakesTheLeastRecentlyUsedAcrossSlots) {
  // 10 floats = 40 bytes each.
  std::vector<Snapshot> a = {at(1, 5, 10), at(2, 1, 10)}, b = {at(1, 3, 10), at(2, 9, 10)};
  EXPECT_EQ(evict_to_budget({&a, &b}, 160), 160u);  // within budget: nothing goes
  EXPECT_EQ(evict_to_budget({&a, &b}, 100), 80u);   // the two oldest (used at 1 and 3) go
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].last_used, 5u);
  EXPECT_EQ(b[0].last_used, 9u);
  EXPECT_EQ(evict_to_budget({&a, &b}, 0), 0u);
  EXPECT_TRUE(a.empty() && b.empty());
}

}  // namespace
}  // namespace onprem::engine
