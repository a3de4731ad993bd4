// The scheduler's decisions without a model: what one step evaluates, and which slot a request
// takes. The expected plans are worked out by hand from the rules in engine/schedule.h.
#include <gtest/gtest.h>

#include "engine/schedule.h"

namespace onprem::engine {
namespace {

SlotLoad decoding(int64_t pending = 1) { return SlotLoad{true, 10, 10, pending, nullptr}; }
SlotLoad prefilling(int64_t prompt, int64_t done, const std::vector<int64_t>* at = nullptr) {
  return SlotLoad{true, prompt, done, 0, at};
}

bool same(const std::vector<StepWork>& a, const std::vector<StepWork>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].slot != b[i].slot || a[i].n != b[i].n || a[i].prefill != b[i].prefill) return false;
  return true;
}

TEST(Schedule, DecodesFirstThenPromptChunksIntoTheRestOfTheBudget) {
  const StepOptions o{100, false, 512};
  // Slot 0 prefills 1000 tokens, slots 1 and 3 decode, slot 2 is free.
  const std::vector<SlotLoad> slots = {prefilling(1000, 0), decoding(), SlotLoad{}, decoding()};
  EXPECT_TRUE(same(plan_step(slots, o), {{1, 1, false}, {3, 1, false}, {0, 98, true}}));
  // The next prompt chunk goes on from where the last stopped.
  const std::vector<SlotLoad> later = {prefilling(1000, 980), decoding(), SlotLoad{}, decoding()};
  EXPECT_TRUE(same(plan_step(later, o), {{1, 1, false}, {3, 1, false}, {0, 20, true}}));
}

TEST(Schedule, TwoPromptsShareTheBudgetInSlotOrder) {
  const StepOptions o{64, false, 512};
  EXPECT_TRUE(
      same(plan_step({prefilling(50, 0), prefilling(50, 0), prefilling(50, 0)}, o), {{0, 50, true}, {1, 14, true}}));
}

TEST(Schedule, ForcedTokensAreEvaluatedTogetherWithinTheBudget) {
  // A slot with 5 forced tokens (a thinking budget's closing tag) takes 5 of the step.
  EXPECT_TRUE(
      same(plan_step({decoding(5), prefilling(100, 0)}, StepOptions{32, false, 512}), {{0, 5, false}, {1, 27, true}}));
}

TEST(Schedule, EverySlotGetsATokenEvenWithATinyBudget) {
  // The budget is never below the slot count, so no decoding sequence starves.
  const std::vector<SlotLoad> slots = {decoding(), decoding(), decoding()};
  EXPECT_EQ(plan_step(slots, StepOptions{1, false, 512}).size(), 3u);
}

TEST(Schedule, PromptChunksStopAtSnapshotPoints) {
  const std::vector<int64_t> boundaries = {30, 700};
  const StepOptions o{512, true, 256};
  // From 0: the message boundary at 30 comes first.
  EXPECT_TRUE(same(plan_step({prefilling(1000, 0, &boundaries)}, o), {{0, 30, true}}));
  // From 30: the interval point at 256.
  EXPECT_TRUE(same(plan_step({prefilling(1000, 30, &boundaries)}, o), {{0, 226, true}}));
  // From 512: 700 is before the interval point 768.
  EXPECT_TRUE(same(plan_step({prefilling(1000, 512, &boundaries)}, o), {{0, 188, true}}));
  // Without the prefix cache, one chunk of the whole budget.
  EXPECT_TRUE(same(plan_step({prefilling(1000, 0, &boundaries)}, StepOptions{512, false, 256}), {{0, 512, true}}));
}

TEST(Schedule, NothingToDoIsAnEmptyPlan) {
  EXPECT_TRUE(plan_step({SlotLoad{}, decoding(0)}, StepOptions{}).empty());
  EXPECT_TRUE(plan_step({}, StepOptions{}).empty());
}

TEST(ChooseSlot, LongestReusablePrefixThenEmptyThenLeastRecentlyUsed) {
  // busy, empty, reusable, last_used
  EXPECT_EQ(choose_slot({{false, false, 0, 5}, {false, false, 40, 9}, {false, true, 0, 1}}), 1u);
  // No reuse anywhere: the empty slot, not a kept conversation.
  EXPECT_EQ(choose_slot({{false, false, 0, 1}, {false, true, 0, 7}, {false, false, 0, 3}}), 1u);
  // No reuse and none empty: the least recently used.
  EXPECT_EQ(choose_slot({{false, false, 0, 8}, {false, false, 0, 3}, {false, false, 0, 6}}), 1u);
  // A busy slot is never chosen, however much it would reuse.
  EXPECT_EQ(choose_slot({{true, false, 900, 0}, {false, false, 0, 4}}), 1u);
  EXPECT_EQ(choose_slot({{true, false, 0, 0}, {true, true, 0, 0}}), 2u);
  EXPECT_EQ(choose_slot({}), 0u);
}

TEST(ChoosePreemption, OnlyWhenEverySlotIsBusyAndBothHaveWaitedLongEnough) {
  const size_t none = 3;
  const std::vector<RunningSlot> busy = {{true, true, 5.0}, {true, true, 9.0}, {true, true, 2.0}};
  EXPECT_EQ(choose_preemption(busy, 3.0, 1.0), 1u);      // the longest running
  EXPECT_EQ(choose_preemption(busy, 0.5, 1.0), none);    // the head has not waited long enough
  EXPECT_EQ(choose_preemption(busy, 3.0, 0.0), none);    // off
  EXPECT_EQ(choose_preemption(busy, 30.0, 10.0), none);  // no slot has run long enough
  // A free slot serves the queue without pausing anyone.
  EXPECT_EQ(choose_preemption({{true, true, 5.0}, {false, false, 0.0}, {true, true, 9.0}}, 3.0, 1.0), none);
  // A slot still taking its prompt in is not paused (its work would be lost, not deferred).
  EXPECT_EQ(choose_preemption({{true, false, 9.0}, {true, true, 5.0}, {true, true, 2.0}}, 3.0, 1.0), 1u);
  EXPECT_EQ(choose_preemption({{true, false, 9.0}, {true, false, 5.0}, {true, true, 0.5}}, 3.0, 1.0), none);
}

}  // namespace
}  // namespace onprem::engine
