// The device's memory bandwidth, measured the way decode uses it: a copy kernel streaming a
// buffer far larger than any cache. Benchmarks report decode as a fraction of this figure,
// measured in the same run (kernels/bandwidth.h is the CPU's counterpart).
#pragma once

#include <cstdint>
#include <string>

#include "backend/vulkan/ops.h"

namespace onprem::vulkan {

struct CopyBandwidth {
  double read_bytes_per_second = 0;  // bytes read per second; the kernel writes as many
  uint64_t buffer_bytes = 0;
};

// Copies `bytes` from one device buffer to another `reps` times (after one warm-up) and keeps the
// best. Fails with *error when the buffers do not fit.
bool measure_copy_bandwidth(Device& d, Ops& ops, uint64_t bytes, int reps, CopyBandwidth& out, std::string* error);

}  // namespace onprem::vulkan
