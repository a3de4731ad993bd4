// The allocator policy of a long-running server: memory that one large request used goes back to
// the OS when the request ends, so a burst of large (or hostile) bodies does not leave the
// process hundreds of MB bigger.
#pragma once

#include <cstddef>

namespace onprem::core {

// Requests at or above this many body bytes call release_freed_heap() when they end.
inline constexpr size_t kLargeBodyBytes = size_t(64) << 10;

// Fixes glibc's thresholds (call once, before the server threads start). By default glibc raises
// its mmap threshold to the size of the largest block freed so far (up to 32 MiB) and its trim
// threshold to twice that: after one 1 MiB body, every later buffer below 1 MiB comes from a
// per-thread arena that is never trimmed, and with one arena per HTTP worker that adds up.
void use_server_heap_policy();

// Hands the free pages of every malloc arena back to the OS (glibc's malloc_trim).
void release_freed_heap();

// The router's policy on top of the server's: one malloc arena and no top pad. The router only
// moves bytes between sockets, so one arena costs it nothing, and after a burst of requests every
// arena kept its top and pages shared by a few live chunks: the hostile suite left the router
// 17-28 % above its 12 MiB (docs/api.md). With this and no per-thread caches
// (restart_without_thread_caches), 4-5 %.
void use_router_heap_policy();

// glibc's per-thread caches (tcache) can only be turned off from the environment at start
// (GLIBC_TUNABLES=glibc.malloc.tcache_count=0): re-executes this program, with the same
// arguments (/proc/self/cmdline), with it set, once. Call it before any thread starts. Returns
// when it is set already (by us, or chosen by the operator) or the exec could not be done.
void restart_without_thread_caches();

}  // namespace onprem::core
