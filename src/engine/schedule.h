// The engine's scheduling decisions as pure functions over plain views of its slots: what one
// step evaluates, which free slot a new request takes, and which running one to pause for it. No model, no threads, so
// they are tested alone (tests/engine/schedule_test.cpp); the engine gathers the views and acts on them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace onprem::engine {

// One sequence slot as the step planner sees it.
struct SlotLoad {
  bool busy = false;
  int64_t prompt = 0;     // prompt tokens in all
  int64_t prefilled = 0;  // of them evaluated
  int64_t pending = 0;    // tokens to evaluate once the prompt is in (the last sampled, or forced ones)
  // Prompt positions worth a state snapshot (message boundaries); a prefill chunk stops there.
  const std::vector<int64_t>* snapshot_at = nullptr;
};

struct StepOptions {
  int64_t ubatch = 512;             // tokens per step, all slots together
  bool cut_at_snapshots = true;     // the prefix cache is on
  int64_t snapshot_interval = 512;  // and keeps a snapshot every this many prompt tokens
};

// One slot's share of a step.
struct StepWork {
  size_t slot = 0;
  int64_t n = 0;         // tokens
  bool prefill = false;  // prompt tokens (else pending ones)
};

// Decodes first, so running generations keep flowing while a long prompt is admitted; then prompt
// chunks, in slot order, into what is left of the budget (never less than one token per slot),
// each stopping at its next snapshot point so the state there can be kept.
std::vector<StepWork> plan_step(const std::vector<SlotLoad>& slots, const StepOptions& o);

// A free slot as the slot chooser sees it.
struct SlotChoice {
  bool busy = false;
  bool empty = true;       // holds no kept sequence
  int64_t reusable = 0;    // prompt tokens its kept sequence or snapshots supply
  uint64_t last_used = 0;  // when it was last admitted
};

// The free slot with the longest reusable prefix; among equals an empty one, else the least
// recently used, so that conversations taking turns do not evict each other while another slot
// sits idle. slots.size() when every slot is busy.
size_t choose_slot(const std::vector<SlotChoice>& slots);

// A busy slot as the preemption policy sees it.
struct RunningSlot {
  bool busy = false;
  bool decoding = false;  // its prompt is in: pausing it costs a re-prefill, not lost work
  double running_s = 0;   // since it was (last) admitted
};

// Time slicing when every slot is busy: once the head of the queue has waited preempt_after_s,
// the decoding slot that has run longest, and at least preempt_after_s, is paused for it (the
// paused generation waits in the queue and resumes by re-prefilling what it had). slots.size()
// for none: preemption off (preempt_after_s <= 0), a slot free, no wait long enough, or no slot
// that has run long enough (so two requests never trade a slot back and forth every step).
size_t choose_preemption(const std::vector<RunningSlot>& slots, double head_wait_s, double preempt_after_s);

}  // namespace onprem::engine
