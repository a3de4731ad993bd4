// Memory arithmetic of model.md §11, shared by the engine's allocations, `onprem inspect` and
// the planner. All sizes in bytes.
#pragma once

#include <cstdint>

#include "model/config.h"

namespace onprem::model {

struct StateSizes {
  uint64_t kv_bytes_per_token = 0;     // all attention layers, K and V
  uint64_t conv_state_bytes = 0;       // all DeltaNet layers, per sequence, f32
  uint64_t recurrent_state_bytes = 0;  // all DeltaNet layers, per sequence, f32
  uint64_t fixed_state_bytes() const { return conv_state_bytes + recurrent_state_bytes; }
  uint64_t per_sequence_bytes(uint64_t n_ctx) const { return kv_bytes_per_token * n_ctx + fixed_state_bytes(); }
};

// kv_elem_bytes: 4 for an F32 cache, 2 for F16; Q8_0 is 34/32 (pass num/den).
StateSizes state_sizes(const ModelConfig& c, uint64_t kv_elem_num = 2, uint64_t kv_elem_den = 1);

}  // namespace onprem::model
