// Per-sequence state (model.md §11): a KV cache for each attention layer and the conv + recurrent
// state of each Gated DeltaNet layer. Sized from ModelConfig and allocated once; f32 throughout
// (llama.cpp keeps the recurrent state in f32 whatever the KV type).
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"

namespace onprem::model {

struct SequenceState {
  int64_t n_ctx = 0;      // capacity in tokens
  int64_t n_past = 0;     // tokens already evaluated (their positions are 0 .. n_past-1)
  float rope_factor = 1;  // YaRN factor for this sequence (1: plain RoPE); see model/rope.h
  // Indexed by layer; empty for layers of the other kind.
  std::vector<std::vector<float>> k, v;  // [n_ctx][n_head_kv * head_dim], K after norm + RoPE
  std::vector<std::vector<float>> conv;  // [channels][conv_kernel - 1], oldest input first
  std::vector<std::vector<float>> ssm;   // [Hv][dv][dk]: value-major, so S^T k is a row dot

  void clear();  // back to an empty sequence, keeping the memory
};

// Attention layers from first_kv_layer on get a KV cache here; those before it keep theirs on a
// GPU (model/forward_vulkan.h). The engine's host state for a GPU sequence has none: it holds the
// positions and a copy of the recurrent state for the prefix cache's snapshots.
SequenceState make_state(const ModelConfig& c, int64_t n_ctx, int first_kv_layer = 0);

}  // namespace onprem::model
