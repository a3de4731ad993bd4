// Per-key rate limits over a sliding minute: requests and tokens. Tokens are charged at admission
// (estimated prompt + requested output) and corrected to the real count when the request ends.
// Thread-safe.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "router/router_config.h"

namespace onprem::router {

struct LimitVerdict {
  bool ok = true;
  double retry_after_s = 0;  // when a refused request could next succeed
  std::string reason;
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // Admits and charges `tokens` now, or refuses without charging. Returns an admission id.
  LimitVerdict admit(const KeyConfig& k, int64_t tokens, uint64_t* id, Clock::time_point now = Clock::now());
  void settle(const KeyConfig& k, uint64_t id, int64_t real_tokens);

 private:
  struct Entry {
    Clock::time_point t;
    int64_t tokens;
    uint64_t id;
  };
  std::mutex mu_;
  std::map<std::string, std::deque<Entry>> window_;
  uint64_t next_id_ = 1;
};

}  // namespace onprem::router
