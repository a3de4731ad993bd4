#include "core/thread_pool.h"

#include <algorithm>

namespace onprem::core {

namespace {

// Chunk i of n items split into k nearly equal parts.
void chunk_bounds(size_t n, int k, int i, size_t* begin, size_t* end) {
  const size_t base = n / size_t(k), extra = n % size_t(k);
  *begin = size_t(i) * base + std::min(size_t(i), extra);
  *end = *begin + base + (size_t(i) < extra ? 1 : 0);
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

constexpr int kSpin = 1 << 14;  // ~50-100 us of pauses before sleeping

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::parallel_for(size_t n, FunctionRef<void(size_t, size_t)> fn) {
  if (n == 0) return;
  if (n_threads_ == 1 || n == 1) {
    fn(0, n);
    return;
  }
  ++dispatches_;
  const uint32_t generation = uint32_t(claim_.load(std::memory_order_relaxed) >> 32) + 1;
  job_ = &fn;
  job_n_ = n;
  const uint32_t chunks = uint32_t(std::min({n, size_t(4) * size_t(n_threads_), size_t(0xffff)}));
  done_.store(0, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mu_);  // pairs with sleeping workers' predicate check
    claim_.store(uint64_t(generation) << 32 | uint64_t(chunks) << 16, std::memory_order_release);
  }
  start_cv_.notify_all();
  run_chunks(generation);
  for (int i = 0; i < kSpin; ++i) {
    if (done_.load(std::memory_order_acquire) == chunks) return;
    cpu_relax();
  }
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return done_.load(std::memory_order_acquire) == chunks; });
}

void ThreadPool::run_chunks(uint32_t generation) {
  uint64_t state = claim_.load(std::memory_order_acquire);
  for (;;) {
    if (uint32_t(state >> 32) != generation) return;  // a later job: this one is over
    const uint32_t chunks = uint32_t(state >> 16) & 0xffff, chunk = uint32_t(state) & 0xffff;
    if (chunk >= chunks) return;
    if (!claim_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    // The job's fields are read only after a successful claim: the job cannot end, and the caller
    // cannot overwrite them, before this chunk is done.
    size_t b, e;
    chunk_bounds(job_n_, int(chunks), int(chunk), &b, &e);
    (*job_)(b, e);
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) {
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_one();
    }
    state = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::worker_loop() {
  uint32_t seen = 0;
  auto generation = [this] { return uint32_t(claim_.load(std::memory_order_acquire) >> 32); };
  for (;;) {
    for (int i = 0; i < kSpin && generation() == seen && !stop_.load(); ++i) cpu_relax();
    if (generation() == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stop_.load() || generation() != seen; });
    }
    if (stop_.load()) return;
    seen = generation();
    run_chunks(seen);
  }
}

}  // namespace onprem::core
