// A fixed pool of worker threads that runs one parallel-for at a time. Passed in explicitly
// (never global). The caller's thread takes part, so a pool of n threads starts n-1 workers.
// Decode issues hundreds of short parallel-fors per token, so both sides spin briefly before
// sleeping: a wake-up through the kernel costs as much as a small matrix-vector product.
//
// Threads claim chunks; none is assigned one. When the CPU is shared (an HTTP worker parsing a
// large body, another process), a worker the scheduler has not run yet claims nothing, and the
// caller does its part instead of waiting a time slice for it, hundreds of times per token.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "core/function_ref.h"

namespace onprem::core {

// A thread count as options give it: n > 0 as asked, 0 (or less) for every core.
inline int threads_or_all(int n) { return n > 0 ? n : int(std::max(1u, std::thread::hardware_concurrency())); }

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  // parallel_for calls that handed work to the workers so far (read on the calling thread): what
  // a decoded token pays in wake-ups and waits, counted by `onprem bench`.
  uint64_t dispatches() const { return dispatches_; }

  // Calls fn(begin, end) on disjoint chunks covering [0, n), each once, on whichever threads claim
  // them (at most 4 * size() chunks), and returns when all are done. Not re-entrant: fn must not
  // call parallel_for on the same pool.
  void parallel_for(size_t n, FunctionRef<void(size_t, size_t)> fn);

 private:
  void worker_loop();

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  // Runs chunks of the current job until none is left to claim.
  void run_chunks(uint32_t generation);

  const FunctionRef<void(size_t, size_t)>* job_ = nullptr;
  size_t job_n_ = 0;
  uint64_t dispatches_ = 0;
  // The job's generation (bits 32-63), its number of chunks (16-31) and its next unclaimed chunk
  // (0-15), in one word: a worker that wakes late cannot claim a chunk of the next job, nor one
  // past the end of its own, by mistake.
  std::atomic<uint64_t> claim_{0};
  std::atomic<uint32_t> done_{0};  // chunks of the current job finished
  std::atomic<bool> stop_{false};
};

}  // namespace onprem::core
