// Memory for serving a model: weights + KV cache (attention layers only) + DeltaNet state per
// sequence + compute buffers + runtime overhead, with the arithmetic written out. The KV and
// state formulas are model/memory.h's and the compute buffers model/forward.h's workspace: the
// same code the engine allocates with.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "planner/sizing.h"

namespace onprem::planner {

enum class KvType { kF16, kQ8_0, kF32 };
core::Expected<KvType> kv_type_from_name(const std::string& name);
const char* kv_type_name(KvType t);

struct MemoryOptions {
  uint64_t ctx = 32768;   // tokens per sequence
  uint64_t parallel = 1;  // concurrent sequences
  KvType kv_type = KvType::kF16;
  uint64_t ubatch = 512;  // prefill chunk (compute buffer)
  int threads = 8;
  uint64_t overhead_bytes = uint64_t(512) << 20;  // runtime: CUDA context, allocator slack, binaries
};

struct MemoryPlan {
  uint64_t weights_bytes = 0, kv_cache_bytes = 0, state_bytes = 0, compute_bytes = 0, overhead_bytes = 0;
  uint64_t total_bytes() const { return weights_bytes + kv_cache_bytes + state_bytes + compute_bytes + overhead_bytes; }
  uint64_t kv_bytes_per_token = 0;      // all sequences share this rate
  uint64_t decode_bytes_per_token = 0;  // weights + KV of a full context + state, read per decoded token
  std::vector<std::string> arithmetic;  // one line per term, numbers shown
};

MemoryPlan plan_memory(const ModelSizing& m, const MemoryOptions& o);

std::string format_bytes(uint64_t b);  // "17.45 GB (16.25 GiB)"

}  // namespace onprem::planner
