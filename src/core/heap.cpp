#include "core/heap.h"

#if defined(__GLIBC__)
#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>
#endif

namespace onprem::core {

void use_server_heap_policy() {
#if defined(__GLIBC__)
  // Setting either value explicitly turns glibc's dynamic adjustment off.
  mallopt(M_MMAP_THRESHOLD, 128 << 10);  // blocks this large are mmapped, and unmapped on free
  mallopt(M_TRIM_THRESHOLD, 128 << 10);  // free memory above this at an arena's top goes back
#endif
}

void release_freed_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

void use_router_heap_policy() {
  use_server_heap_policy();
#if defined(__GLIBC__)
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_TOP_PAD, 0);
#endif
}

void restart_without_thread_caches() {
#if defined(__GLIBC__) && defined(__linux__)
  constexpr char kTunable[] = "glibc.malloc.tcache_count";
  const char* now = std::getenv("GLIBC_TUNABLES");
  if (now && std::strstr(now, kTunable)) return;
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string a; std::getline(in, a, '\0');) args.push_back(a);
  if (args.empty()) return;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string set = std::string(now && *now ? std::string(now) + ":" : "") + kTunable + "=0";
  if (setenv("GLIBC_TUNABLES", set.c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv.data());  // returns only on failure: then run with the caches
#endif
}

}  // namespace onprem::core
