#include "engine/token_stream.h"

#include <chrono>

namespace onprem::engine {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kRepetition:
      return "repetition";
    case FinishReason::kCancelled:
      return "cancelled";
    case FinishReason::kError:
      return "error";
  }
  return "?";
}

void TokenStream::push(TokenEvent e) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tokens_.push_back(std::move(e));
    wake = sleeping_;
  }
  // Outside the lock, so the woken consumer does not block on it at once.
  if (wake) cv_.notify_one();
}

void TokenStream::close(const Finish& f) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    finish_ = f;
    wake = sleeping_;
  }
  if (wake) cv_.notify_one();
}

TokenStream::Batch TokenStream::take(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  auto ready = [&] { return !tokens_.empty() || (finish_ && !finish_taken_); };
  if (!ready()) {
    sleeping_ = true;
    if (timeout_ms < 0)
      cv_.wait(lock, ready);
    else
      cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready);
    sleeping_ = false;
  }
  Batch b;
  b.tokens.swap(tokens_);
  if (finish_ && !finish_taken_) b.finish = finish_, finish_taken_ = true;
  return b;
}

}  // namespace onprem::engine
