// Detects a generation stuck in a loop: the tail of the generated ids ends with the same block of
// `period` tokens repeated at least `min_repeats` times, for some period up to `max_period`, and
// the repeated stretch spans at least `min_tokens`. Costs O(max_period) per token on average.
#pragma once

#include <cstdint>
#include <vector>

namespace onprem::sample {

struct LoopGuardOptions {
  int max_period = 64;  // longest repeating block considered (tokens)
  int min_repeats = 4;  // how many back-to-back copies count as a loop
  int min_tokens = 32;  // ignore short stutters ("the the the the")
};

class LoopGuard {
 public:
  explicit LoopGuard(LoopGuardOptions o = {}) : o_(o) {}
  // Adds a generated token; true when the tail is now a loop (finish reason "repetition").
  bool push(int32_t id);
  int period() const { return period_; }  // of the loop found

 private:
  LoopGuardOptions o_;
  std::vector<int32_t> tail_;
  int period_ = 0;
};

}  // namespace onprem::sample
