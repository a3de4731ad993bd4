#include "backend/vulkan/bandwidth.h"

#include <algorithm>
#include <chrono>

namespace onprem::vulkan {

bool measure_copy_bandwidth(Device& d, Ops& ops, uint64_t bytes, int reps, CopyBandwidth& out, std::string* error) {
  const uint64_t floats = std::min<uint64_t>(bytes / 4, 0xFFFFFFFFull);
  Buffer a, b;
  if (!create_buffer(d, floats * 4, Memory::kDevice, a, error) ||
      !create_buffer(d, floats * 4, Memory::kDevice, b, error))
    return false;
  Graph g(d);
  if (!ops.eltwise(g, Eltwise::kCopy, a, 0, a, 0, b, 0, uint32_t(floats), error)) return false;
  double best = 0;
  for (int r = 0; r <= reps; ++r) {  // the first run warms the pipeline and the pages
    const auto t0 = std::chrono::steady_clock::now();
    if (!g.run(error)) return false;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0 && s > 0) best = std::max(best, double(floats * 4) / s);
  }
  out.read_bytes_per_second = best;
  out.buffer_bytes = floats * 4;
  return true;
}

}  // namespace onprem::vulkan
