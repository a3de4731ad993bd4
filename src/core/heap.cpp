#include "core/heap.h"

#if defined(__GLIBC__)
#include <malloc.h>
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

}  // namespace onprem::core
