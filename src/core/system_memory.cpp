#include "core/system_memory.h"

#include <cstdio>
#include <cstring>

namespace onprem::core {

SystemMemory system_memory() {
  SystemMemory m;
  if (FILE* f = std::fopen("/proc/meminfo", "r")) {
    char key[64];
    unsigned long long kib = 0;
    while (std::fscanf(f, "%63s %llu kB\n", key, &kib) == 2) {
      if (std::strcmp(key, "MemTotal:") == 0) m.total_bytes = kib * 1024;
      if (std::strcmp(key, "MemAvailable:") == 0) m.available_bytes = kib * 1024;
    }
    std::fclose(f);
  }
  // cgroup v2 at its usual mount point; "max" means no limit.
  if (FILE* f = std::fopen("/sys/fs/cgroup/memory.max", "r")) {
    unsigned long long limit = 0;
    if (std::fscanf(f, "%llu", &limit) == 1) m.cgroup_limit_bytes = limit;
    std::fclose(f);
  }
  return m;
}

}  // namespace onprem::core
