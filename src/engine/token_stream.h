// One request's output on its way from the engine thread to the thread that serves the request:
// token events in order, then one Finish. The engine never waits on the consumer beyond a short
// lock, and wakes it only when it sleeps; the consumer takes everything that arrived at once.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace onprem::engine {

struct TokenEvent {
  int32_t id = -1;
  float logprob = 0;                           // of the chosen token (when asked for)
  std::vector<std::pair<int32_t, float>> top;  // top logprobs (when asked for)
};

enum class FinishReason { kStop, kLength, kRepetition, kCancelled, kError };
const char* finish_reason_name(FinishReason r);

struct Finish {
  FinishReason reason = FinishReason::kStop;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  int64_t cached_tokens = 0;                          // prompt tokens the prefix cache supplied
  double prompt_seconds = 0, generation_seconds = 0;  // time in prefill and in decode
  double first_token_seconds = 0;                     // from submission
  std::string error;
};

class TokenStream {
 public:
  // Engine side.
  void push(TokenEvent e);
  void close(const Finish& f);  // once; nothing is pushed after it

  // Consumer side: what arrived since the last take, in order.
  struct Batch {
    std::vector<TokenEvent> tokens;
    std::optional<Finish> finish;  // set once, after the last token
  };
  // Waits up to timeout_ms (< 0: without limit) while nothing has arrived, then moves it all out.
  Batch take(int timeout_ms);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<TokenEvent> tokens_;
  std::optional<Finish> finish_;
  bool finish_taken_ = false;
  bool sleeping_ = false;  // the consumer waits on cv_
};

}  // namespace onprem::engine
