// How much memory this machine (and the cgroup the process runs in) has, from Linux's /proc and
// /sys files. Fields stay 0 where a file is missing (another OS, a restricted container).
#pragma once

#include <cstdint>

namespace onprem::core {

struct SystemMemory {
  uint64_t total_bytes = 0;         // MemTotal
  uint64_t available_bytes = 0;     // MemAvailable: what can be allocated without swapping
  uint64_t cgroup_limit_bytes = 0;  // memory.max of this process's cgroup (v2), 0 = none
};

SystemMemory system_memory();

}  // namespace onprem::core
