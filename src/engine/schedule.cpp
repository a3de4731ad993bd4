#include "engine/schedule.h"

#include <algorithm>

namespace onprem::engine {

std::vector<StepWork> plan_step(const std::vector<SlotLoad>& slots, const StepOptions& o) {
  std::vector<StepWork> work;
  int64_t budget = std::max<int64_t>(o.ubatch, int64_t(slots.size()));
  for (size_t i = 0; i < slots.size(); ++i) {
    const SlotLoad& s = slots[i];
    if (!s.busy || s.prefilled < s.prompt || s.pending == 0) continue;
    const int64_t n = std::min(s.pending, budget);
    work.push_back({i, n, false});
    budget -= n;
  }
  for (size_t i = 0; i < slots.size(); ++i) {
    const SlotLoad& s = slots[i];
    if (!s.busy || s.prefilled >= s.prompt || budget <= 0) continue;
    int64_t n = std::min(s.prompt - s.prefilled, budget);
    if (o.cut_at_snapshots) {
      const int64_t pos = s.prefilled;
      int64_t next = (pos / o.snapshot_interval + 1) * o.snapshot_interval;
      if (s.snapshot_at)
        for (int64_t b : *s.snapshot_at)
          if (b > pos && b < next) next = b;
      n = std::min(n, next - pos);
    }
    work.push_back({i, n, true});
    budget -= n;
  }
  return work;
}

size_t choose_slot(const std::vector<SlotChoice>& slots) {
  size_t best = slots.size();
  for (size_t i = 0; i < slots.size(); ++i) {
    const SlotChoice& s = slots[i];
    if (s.busy) continue;
    if (best == slots.size()) {
      best = i;
      continue;
    }
    const SlotChoice& b = slots[best];
    const bool better = s.reusable > b.reusable ||
                        (s.reusable == b.reusable && (s.empty != b.empty ? s.empty : s.last_used < b.last_used));
    if (better) best = i;
  }
  return best;
}

size_t choose_preemption(const std::vector<RunningSlot>& slots, double head_wait_s, double preempt_after_s) {
  const size_t none = slots.size();
  if (preempt_after_s <= 0 || head_wait_s < preempt_after_s) return none;
  size_t best = none;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (!slots[i].busy) return none;  // a free slot: the queue is served without pausing anyone
    if (!slots[i].decoding || slots[i].running_s < preempt_after_s) continue;
    if (best == none || slots[i].running_s > slots[best].running_s) best = i;
  }
  return best;
}

}  // namespace onprem::engine
