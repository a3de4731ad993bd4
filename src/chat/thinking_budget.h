// A thinking budget: after N reasoning tokens the reasoning is closed by forcing "</think>" and
// the blank line the template puts after it, so the model continues with the answer.
#pragma once

#include <cstdint>
#include <vector>

#include "text/tokenizer.h"

namespace onprem::chat {

class ThinkingBudget {
 public:
  // budget < 0: unlimited. starts_in_reasoning: the prompt ended with "<think>\n".
  ThinkingBudget(const text::Tokenizer& tok, int64_t budget, bool starts_in_reasoning);

  // Tokens to force now, before sampling (a budget of 0 closes at once); empty otherwise.
  std::vector<int32_t> before_sampling();
  // Tells the budget which token was generated (or forced).
  void accept(int32_t id);
  bool in_reasoning() const { return in_reasoning_; }
  bool forced() const { return forced_; }
  int64_t reasoning_tokens() const { return count_; }

 private:
  std::vector<int32_t> close_ids_;  // "\n</think>\n\n"
  int32_t think_close_ = -1;
  int64_t budget_;
  bool in_reasoning_;
  bool forced_ = false;
  int64_t count_ = 0;
  size_t pending_ = 0;  // forced tokens not yet accepted
};

}  // namespace onprem::chat
