// The HTTP servers' worker threads: one per open connection, started when a connection finds
// every worker busy, up to a maximum, and ended after a while without work. Slow and idle
// clients each hold a worker (cpp-httplib serves a connection on one thread), so the maximum is
// high; threads that exist only while needed give their stacks and malloc caches back when the
// crowd leaves, which a fixed pool of that size never does.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

namespace onprem::api {

class HttpWorkers : public httplib::TaskQueue {
 public:
  // keep: threads that never end; max: the most at once; idle: how long a spare one waits.
  HttpWorkers(int max, int keep = 8, std::chrono::milliseconds idle = std::chrono::seconds(5));
  ~HttpWorkers() override;

  void enqueue(std::function<void()> fn) override;
  // Runs what is queued, then waits for every thread to end.
  void shutdown() override;

  int threads() const;

 private:
  void run();

  const int keep_, max_;
  const std::chrono::milliseconds idle_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_, ended_cv_;
  std::deque<std::function<void()>> jobs_;
  int threads_ = 0, waiting_ = 0;
  bool stopping_ = false;
};

}  // namespace onprem::api
