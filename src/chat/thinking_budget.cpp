#include "chat/thinking_budget.h"

namespace onprem::chat {

ThinkingBudget::ThinkingBudget(const text::Tokenizer& tok, int64_t budget, bool starts_in_reasoning)
    : close_ids_(tok.encode("\n</think>\n\n", true)),
      think_close_(tok.vocab().find("</think>")),
      budget_(budget),
      in_reasoning_(starts_in_reasoning) {}

std::vector<int32_t> ThinkingBudget::before_sampling() {
  if (!in_reasoning_ || budget_ < 0 || count_ < budget_ || pending_ > 0) return {};
  forced_ = true;
  pending_ = close_ids_.size();
  return close_ids_;
}

void ThinkingBudget::accept(int32_t id) {
  if (pending_ > 0) --pending_;
  if (!in_reasoning_) return;
  if (id == think_close_) {
    in_reasoning_ = false;
    return;
  }
  if (pending_ == 0 && !forced_) ++count_;
}

}  // namespace onprem::chat
