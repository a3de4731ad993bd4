#include "router/pool.h"

#include <functional>

namespace onprem::router {

Lease& Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    release();
    pool_ = o.pool_, r_ = o.r_, reported_ = o.reported_;
    o.r_ = nullptr;
  }
  return *this;
}

Lease::~Lease() { release(); }

void Lease::release() {
  if (!r_) return;
  if (!reported_) {
    // Neither success nor failure: the client went away. Free a half-open trial slot.
    std::lock_guard<std::mutex> lock(r_->mu);
    r_->trial_in_flight = false;
  }
  r_->outstanding.fetch_sub(1);
  r_ = nullptr;
  pool_->notify_capacity();
}

void Lease::success() {
  if (!r_ || reported_) return;
  reported_ = true;
  std::lock_guard<std::mutex> lock(r_->mu);
  r_->consecutive_failures = 0;
  r_->open_until = {};
  r_->trial_in_flight = false;
  ++r_->served;
  r_->healthy.store(true);  // it just answered: whatever the last check said, it is up
}

void Lease::failure() {
  if (!r_ || reported_) return;
  reported_ = true;
  std::lock_guard<std::mutex> lock(r_->mu);
  ++r_->failures;
  r_->trial_in_flight = false;
  if (++r_->consecutive_failures >= pool_->cfg_.breaker_failures)
    r_->open_until = Clock::now() + std::chrono::milliseconds(int64_t(pool_->cfg_.breaker_open_s * 1000));
}

Pool::Pool(const RouterConfig& cfg) : cfg_(cfg) {
  for (const auto& b : cfg.backends)
    for (const auto& u : b.urls) {
      auto r = std::make_unique<Replica>();
      r->url = u;
      r->backend = &b;
      replicas_.push_back(std::move(r));
    }
}

std::vector<Replica*> Pool::replicas_of(const std::string& backend) {
  std::vector<Replica*> out;
  for (auto& r : replicas_)
    if (r->backend->name == backend) out.push_back(r.get());
  return out;
}

bool Pool::admissible(Replica* r, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(r->mu);
  if (r->consecutive_failures < cfg_.breaker_failures) return true;
  if (now < r->open_until) return false;
  return !r->trial_in_flight;  // half-open
}

Lease Pool::pick(const std::string& backend, const std::string& affinity, const std::vector<const Replica*>& exclude,
                 PickStatus* why) {
  std::lock_guard<std::mutex> lock(pick_mu_);  // pick + increment are one step
  const auto now = Clock::now();
  std::vector<Replica*> cands;
  bool any_up = false;
  for (Replica* r : replicas_of(backend)) {
    if (std::find(exclude.begin(), exclude.end(), r) != exclude.end()) continue;
    if (!r->healthy.load() || !admissible(r, now)) continue;
    any_up = true;
    if (r->outstanding.load() < r->backend->max_concurrency) cands.push_back(r);
  }
  if (cands.empty()) {
    *why = any_up ? PickStatus::kSaturated : PickStatus::kUnavailable;
    return {};
  }
  Replica* least = cands[0];
  for (Replica* r : cands)
    if (r->outstanding.load() < least->outstanding.load()) least = r;
  // Rendezvous hashing: the conversation's replica stays the same while the set does not change.
  Replica* home = nullptr;
  uint64_t best = 0;
  for (Replica* r : cands) {
    const uint64_t h = std::hash<std::string>{}(affinity + '\x1f' + r->url);
    if (!home || h > best) home = r, best = h;
  }
  Replica* chosen = home->outstanding.load() <= least->outstanding.load() + cfg_.affinity_slack ? home : least;
  {
    std::lock_guard<std::mutex> l(chosen->mu);
    if (chosen->consecutive_failures >= cfg_.breaker_failures) chosen->trial_in_flight = true;
  }
  chosen->outstanding.fetch_add(1);
  *why = PickStatus::kOk;
  return Lease(this, chosen);
}

void Pool::health_check_result(Replica* r, bool ok) {
  r->failed_checks = ok ? 0 : r->failed_checks + 1;
  if (ok) {
    if (!r->healthy.exchange(true)) notify_capacity();
  } else if (r->failed_checks >= cfg_.health_failures) {
    r->healthy.store(false);
  }
}

void Pool::notify_capacity() {
  {
    std::lock_guard<std::mutex> lock(cap_mu_);
    ++releases_;
  }
  cap_cv_.notify_all();
}

void Pool::wait_for_capacity(Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(cap_mu_);
  const uint64_t seen = releases_;
  cap_cv_.wait_until(lock, deadline, [&] { return releases_ != seen; });
}

chat::Json Pool::status_json() {
  chat::Json out = chat::Json::array();
  const auto now = Clock::now();
  for (auto& r : replicas_) {
    std::lock_guard<std::mutex> lock(r->mu);
    const bool open = r->consecutive_failures >= cfg_.breaker_failures;
    out.push_back({{"backend", r->backend->name},
                   {"url", r->url},
                   {"healthy", r->healthy.load()},
                   {"outstanding", r->outstanding.load()},
                   {"max_concurrency", r->backend->max_concurrency},
                   {"breaker", !open ? "closed" : (now < r->open_until ? "open" : "half-open")},
                   {"served", r->served},
                   {"failures", r->failures}});
  }
  return out;
}

}  // namespace onprem::router
