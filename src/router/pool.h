// Live state of every replica: outstanding requests, health (active checks), circuit breaker.
// pick() chooses among a backend's replicas: healthy, breaker not open, under max_concurrency;
// the conversation's own replica (rendezvous hash of its affinity key) unless it has more than
// affinity_slack requests over the least loaded one; otherwise least outstanding.
// Thread-safe; a Lease returns its slot when destroyed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chat/pyjson.h"
#include "router/router_config.h"

namespace onprem::router {

using Clock = std::chrono::steady_clock;

struct Replica {
  std::string url;
  const BackendConfig* backend = nullptr;
  std::atomic<int> outstanding{0};
  std::atomic<bool> healthy{true};
  int failed_checks = 0;  // consecutive failed health checks (health thread only)
  std::mutex mu;          // guards the breaker fields
  int consecutive_failures = 0;
  Clock::time_point open_until{};  // breaker open until then
  bool trial_in_flight = false;    // half-open: one request probes
  uint64_t served = 0, failures = 0;
};

class Pool;

class Lease {
 public:
  Lease() = default;
  Lease(Pool* p, Replica* r) : pool_(p), r_(r) {}
  Lease(Lease&& o) noexcept : pool_(o.pool_), r_(o.r_) { o.r_ = nullptr; }
  Lease& operator=(Lease&& o) noexcept;
  ~Lease();
  Replica* replica() const { return r_; }
  explicit operator bool() const { return r_ != nullptr; }
  void success();  // closes the breaker
  void failure();  // counts toward opening it

 private:
  void release();
  Pool* pool_ = nullptr;
  Replica* r_ = nullptr;
  bool reported_ = false;
};

enum class PickStatus { kOk, kSaturated, kUnavailable };

class Pool {
 public:
  Pool(const RouterConfig& cfg);
  // exclude: replicas already tried for this request.
  Lease pick(const std::string& backend, const std::string& affinity, const std::vector<const Replica*>& exclude,
             PickStatus* why);
  std::vector<Replica*> replicas_of(const std::string& backend);
  std::vector<std::unique_ptr<Replica>>& all() { return replicas_; }
  // A check's result; a replica is out after health_failures failed checks in a row, back at
  // the first good one.
  void health_check_result(Replica* r, bool ok);
  // Waits until some lease is returned (or a replica comes back up), at most until `deadline`.
  void wait_for_capacity(Clock::time_point deadline);
  chat::Json status_json();

 private:
  friend class Lease;
  bool admissible(Replica* r, Clock::time_point now);  // breaker closed, or half-open and no trial running
  const RouterConfig& cfg_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::mutex pick_mu_;
  std::mutex cap_mu_;
  std::condition_variable cap_cv_;
  uint64_t releases_ = 0;
  void notify_capacity();
};

}  // namespace onprem::router
