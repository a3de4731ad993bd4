// Measures this machine's memory read bandwidth the way decode reads weights: streaming sums over
// a buffer much larger than the caches. Benchmarks report achieved bandwidth as a fraction of
// this figure, measured in the same run (the machines are shared and noisy).
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace onprem::kernels {

struct BandwidthResult {
  double bytes_per_second = 0;  // best of the repetitions
  int64_t buffer_bytes = 0;
  int threads = 0;
};

// Reads a buffer of `bytes` (default 1 GiB) `reps` times with the pool's threads.
BandwidthResult measure_read_bandwidth(core::ThreadPool& pool, int64_t bytes = int64_t(1) << 30, int reps = 5);

}  // namespace onprem::kernels
