#include "api/http_workers.h"

#include <algorithm>
#include <thread>

#include "core/heap.h"

namespace onprem::api {

HttpWorkers::HttpWorkers(int max, int keep, std::chrono::milliseconds idle)
    : keep_(std::max(1, std::min(keep, max))), max_(std::max(keep_, max)), idle_(idle) {}

HttpWorkers::~HttpWorkers() { shutdown(); }

void HttpWorkers::enqueue(std::function<void()> fn) {
  std::unique_lock<std::mutex> lock(mu_);
  jobs_.push_back(std::move(fn));
  // A waiting thread takes it; otherwise a new one, up to the maximum (beyond it, connections
  // queue until a worker frees up, as with a fixed pool).
  if (waiting_ >= int(jobs_.size())) {
    work_cv_.notify_one();
    return;
  }
  if (threads_ < max_ && !stopping_) {
    ++threads_;
    std::thread([this] { run(); }).detach();
  }
}

void HttpWorkers::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ++waiting_;
    const bool woke = work_cv_.wait_for(lock, idle_, [&] { return stopping_ || !jobs_.empty(); });
    --waiting_;
    if (jobs_.empty() && (stopping_ || (!woke && threads_ > keep_))) break;
    if (jobs_.empty()) continue;
    auto fn = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    fn();
    fn = nullptr;  // the connection's state goes before the thread waits again
    lock.lock();
  }
  --threads_;
  const bool spare = !stopping_;
  ended_cv_.notify_all();
  lock.unlock();
  // Part of a crowd has left: what the ended threads cached goes back to the OS. This thread's
  // own malloc cache returns to its arena as it ends, just after; the next exit trims that.
  if (spare) core::release_freed_heap();
}

void HttpWorkers::shutdown() {
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  work_cv_.notify_all();
  ended_cv_.wait(lock, [&] { return threads_ == 0; });
}

int HttpWorkers::threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return threads_;
}

}  // namespace onprem::api
