#include "sample/loop_guard.h"

#include <algorithm>

namespace onprem::sample {

bool LoopGuard::push(int32_t id) {
  tail_.push_back(id);
  const size_t keep = size_t(o_.max_period) * size_t(o_.min_repeats) + size_t(o_.min_tokens);
  if (tail_.size() > 2 * keep) tail_.erase(tail_.begin(), tail_.end() - long(keep));
  const size_t n = tail_.size();
  for (int p = 1; p <= o_.max_period; ++p) {
    const size_t span = std::max(size_t(p) * size_t(o_.min_repeats), size_t(o_.min_tokens));
    if (span > n) break;
    // The last `span` tokens are periodic with period p: x[i] == x[i - p] throughout.
    bool periodic = true;
    for (size_t i = n - span + size_t(p); i < n && periodic; ++i) periodic = tail_[i] == tail_[i - size_t(p)];
    if (periodic && span >= size_t(p) * size_t(o_.min_repeats)) {
      period_ = p;
      return true;
    }
  }
  return false;
}

}  // namespace onprem::sample
