#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "api/http_workers.h"

namespace onprem::api {
namespace {

using namespace std::chrono_literals;

// Jobs that block until released, as a slow client's connection does.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> running{0}, finished{0};
  std::function<void()> job() {
    return [this] {
      running++;
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return open; });
      finished++;
    };
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
};

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit = 5000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return cond();
}

TEST(HttpWorkers, StartsAThreadPerBusyConnectionUpToTheMaximumThenQueues) {
  Gate gate;
  HttpWorkers w(/*max=*/6, /*keep=*/2, /*idle=*/10s);
  for (int i = 0; i < 9; ++i) w.enqueue(gate.job());
  EXPECT_TRUE(eventually([&] { return gate.running.load() == 6; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(gate.running.load(), 6) << "three connections wait for a free worker";
  EXPECT_EQ(w.threads(), 6);
  gate.release();
  EXPECT_TRUE(eventually([&] { return gate.finished.load() == 9; }));
}

TEST(HttpWorkers, SpareThreadsEndWhenIdleAndTheKeptOnesStay) {
  Gate gate;
  HttpWorkers w(/*max=*/16, /*keep=*/3, /*idle=*/100ms);
  for (int i = 0; i < 12; ++i) w.enqueue(gate.job());
  EXPECT_TRUE(eventually([&] { return gate.running.load() == 12; }));
  EXPECT_EQ(w.threads(), 12);
  gate.release();
  EXPECT_TRUE(eventually([&] { return w.threads() == 3; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(w.threads(), 3);
  // They still serve.
  std::atomic<int> done{0};
  for (int i = 0; i < 5; ++i) w.enqueue([&] { done++; });
  EXPECT_TRUE(eventually([&] { return done.load() == 5; }));
}

TEST(HttpWorkers, ShutdownRunsWhatIsQueuedAndWaitsForEveryThread) {
  std::atomic<int> done{0};
  {
    HttpWorkers w(/*max=*/2, /*keep=*/1, /*idle=*/10s);
    for (int i = 0; i < 20; ++i)
      w.enqueue([&] {
        std::this_thread::sleep_for(1ms);
        done++;
      });
    w.shutdown();
    EXPECT_EQ(done.load(), 20);
    EXPECT_EQ(w.threads(), 0);
  }
  EXPECT_EQ(done.load(), 20);
}

}  // namespace
}  // namespace onprem::api
