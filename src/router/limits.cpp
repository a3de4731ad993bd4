#include "router/limits.h"

namespace onprem::router {

LimitVerdict RateLimiter::admit(const KeyConfig& k, int64_t tokens, uint64_t* id, Clock::time_point now) {
  LimitVerdict v;
  *id = 0;
  if (k.requests_per_minute <= 0 && k.tokens_per_minute <= 0) return v;
  std::lock_guard<std::mutex> lock(mu_);
  auto& w = window_[k.key];
  const auto minute = std::chrono::seconds(60);
  while (!w.empty() && now - w.front().t >= minute) w.pop_front();
  int64_t used = 0;
  for (const auto& e : w) used += e.tokens;
  auto seconds_until = [&](const Entry& e) { return std::chrono::duration<double>(e.t + minute - now).count(); };
  if (k.requests_per_minute > 0 && int64_t(w.size()) >= k.requests_per_minute) {
    v.ok = false;
    v.reason = "requests per minute limit (" + std::to_string(k.requests_per_minute) + ") reached for key " + k.name;
    v.retry_after_s = seconds_until(w[w.size() - size_t(k.requests_per_minute)]);
    return v;
  }
  if (k.tokens_per_minute > 0 && used + tokens > k.tokens_per_minute) {
    v.ok = false;
    v.reason = "tokens per minute limit (" + std::to_string(k.tokens_per_minute) + ") reached for key " + k.name;
    if (tokens > k.tokens_per_minute) {
      v.reason += "; this request alone needs " + std::to_string(tokens);
      v.retry_after_s = 60;
      return v;
    }
    // The earliest moment enough of the window has expired.
    int64_t freed = 0;
    for (const auto& e : w) {
      freed += e.tokens;
      if (used - freed + tokens <= k.tokens_per_minute) {
        v.retry_after_s = seconds_until(e);
        break;
      }
    }
    return v;
  }
  *id = next_id_++;
  w.push_back({now, tokens, *id});
  return v;
}

void RateLimiter::settle(const KeyConfig& k, uint64_t id, int64_t real_tokens) {
  if (id == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& e : window_[k.key])
    if (e.id == id) e.tokens = real_tokens;
}

}  // namespace onprem::router
