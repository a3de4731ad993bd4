#include "kernels/bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/kernels.h"

namespace onprem::kernels {

BandwidthResult measure_read_bandwidth(core::ThreadPool& pool, int64_t bytes, int reps) {
  const int64_t n = bytes / 4;
  std::unique_ptr<float, decltype(&std::free)> buf(static_cast<float*>(std::aligned_alloc(64, size_t(n) * 4)),
                                                   &std::free);
  // Touch every page (in parallel, so pages land near the threads that read them).
  pool.parallel_for(size_t(n), [&](size_t b, size_t e) { std::memset(buf.get() + b, 0, (e - b) * 4); });
  const Kernels& k = best_kernels();
  const float* ones = buf.get();  // dot of the buffer with itself reads it once per stream
  BandwidthResult r;
  r.buffer_bytes = bytes;
  r.threads = pool.size();
  std::vector<float> sink(size_t(pool.size()) + 64);
  for (int rep = 0; rep < reps; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(size_t(n), [&](size_t b, size_t e) {
      // The f32 dot kernel streams its two inputs; pass the same pointer so each byte is read once.
      sink[b % sink.size()] += k.of(core::GgmlType::kF32).dot_f32(ones + b, ones + b, int64_t(e - b));
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.bytes_per_second = std::max(r.bytes_per_second, double(bytes) / s);
  }
  return r;
}

}  // namespace onprem::kernels
