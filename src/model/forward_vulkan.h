// The forward pass on a Vulkan device (issue 19): the same math as forward.cpp, with the weights
// uploaded once and every step recorded into one command graph per call. Float activations
// throughout (as llama.cpp's GPU backends); the KV cache and the recurrent state live on the
// device. One sequence per state; the CPU path stays the reference (tests/model/vulkan_forward_test).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/ggml_type.h"
#include "core/status.h"
#include "model/forward.h"
#include "model/state.h"
#include "model/weights.h"

namespace onprem::model {

struct VulkanEngine;  // device, pipelines, weights and scratch (forward_vulkan.cpp)

struct VulkanSequence {
  int64_t n_ctx = 0;
  int64_t n_past = 0;
  float rope_factor = 1;
  std::shared_ptr<void> buffers;  // the device state (KV cache, conv and recurrent state)
};

struct VulkanOptions {
  uint32_t device = 0;       // --device vulkan:N
  int64_t max_tokens = 512;  // tokens per forward call
  int64_t max_ctx = 4096;    // the longest sequence a state may hold
  // Attention's score scratch: a prompt's tokens go through it in chunks of at most this many
  // bytes (tokens x heads x max_ctx floats each), so a long context does not need
  // ubatch x heads x context floats at once.
  uint64_t attention_score_bytes = uint64_t(256) << 20;
  // Partial offload (docs/gpu.md). The first gpu_layers layers run on the device; -1 (or as many
  // as the model has) puts every layer and the output head there. Layers left behind, and then the
  // head, run on the CPU with `threads` threads (0: every core). cpu_moe keeps the MoE layers'
  // FFN weights (router, routed and shared experts) in host memory and runs those FFNs on the CPU:
  // the device holds attention, DeltaNet and the head, a few GB for the 35B-A3B.
  int gpu_layers = -1;
  bool cpu_moe = false;
  int threads = 0;
  // The device's KV cache: F16 (llama.cpp's default, and the planner's), F32 (the CPU's, twice the
  // memory) or Q8_0 (ggml's blocks of 32: 34 bytes per 32 values). Layers on the CPU keep theirs in F32.
  core::GgmlType kv_type = core::GgmlType::kF16;
  // A prompt's delta rule: token by token (llama.cpp's op), or in chunks of 64 in matrix form
  // (model.md §7.3, the CPU's --prefill chunked). Decode steps always take the recurrent step.
  DeltaNetPrefill prefill = DeltaNetPrefill::kSequential;
  // Called while weights upload: bytes done and total.
  std::function<void(uint64_t, uint64_t)> progress;
};

// An engine serves one thread at a time (one queue, one set of scratch buffers): the generation
// engine's step thread, or a benchmark. Uploads the model's weights. Fails with a message for a model whose weights
// were repacked for a CPU table, a weight type the device cannot read, or a device that is missing or out of memory.
core::Expected<std::shared_ptr<VulkanEngine>> make_vulkan_engine(const Model& m, const VulkanOptions& o);

// A zeroed sequence of up to n_ctx tokens (at most the engine's max_ctx).
core::Expected<VulkanSequence> make_vulkan_sequence(VulkanEngine& e, int64_t n_ctx);

// As model::forward: evaluates tokens[0..n) at positions s.n_past.. and advances the state.
// logits: [n][n_vocab] when all_logits, else [n_vocab] for the last token.
core::Status forward_vulkan(VulkanEngine& e, VulkanSequence& s, const int32_t* tokens, int64_t n, float* logits,
                            bool all_logits);

// What the engine holds where: layers on the device, whether the head and the MoE FFNs are there.
struct VulkanPlacement {
  int gpu_layers = 0, n_layers = 0;
  bool head_on_device = false, moe_on_cpu = false;
  uint64_t device_weight_bytes = 0, host_weight_bytes = 0;
};
VulkanPlacement vulkan_placement(const VulkanEngine& e);

// Several sequences in one call (continuous batching): their rows share every weight read, each
// with its own KV cache and DeltaNet state, as in model::forward_batch. Needs every layer on the
// device (vulkan_batches: no --gpu-layers or --cpu-moe split, which forward_vulkan runs one
// sequence at a time) and at most max_tokens rows in all. Entries are checked before anything runs.
struct VulkanBatchEntry {
  VulkanSequence* seq = nullptr;
  const int32_t* tokens = nullptr;
  int64_t n = 0;
  float* logits = nullptr;  // [n][n_vocab] when all_logits, else [n_vocab]
  bool all_logits = false;
};
bool vulkan_batches(const VulkanEngine& e);
core::Status forward_vulkan_batch(VulkanEngine& e, std::vector<VulkanBatchEntry>& batch);

// The recurrent layers' conv and DeltaNet state between the device and a host SequenceState
// (made with the same config): read for the prefix cache's snapshots, written when a sequence
// restarts from one (or from nothing). Writing also sets the device sequence's position.
core::Status vulkan_read_recurrent(VulkanEngine& e, const VulkanSequence& s, SequenceState& host);
core::Status vulkan_write_recurrent(VulkanEngine& e, VulkanSequence& s, const SequenceState& host);

// A copy of a sequence's recurrent state made and kept on the device (the prefix cache's
// snapshots): a device-to-device copy each way, where a host snapshot crosses the bus twice. The
// layers left on the CPU are copied on the host. Empty (no buffer) until taken.
struct VulkanSnapshot {
  std::shared_ptr<void> data;
  uint64_t device_bytes = 0, host_bytes = 0;
};
// Fails, and the caller keeps a host snapshot instead, when the device is out of memory.
core::Expected<VulkanSnapshot> vulkan_take_snapshot(VulkanEngine& e, const VulkanSequence& s);
// The sequence's recurrent state from a snapshot, and its position set to `pos`.
core::Status vulkan_restore_snapshot(VulkanEngine& e, VulkanSequence& s, const VulkanSnapshot& snap, int64_t pos);

// The device's read rate in bytes/s: a copy kernel over `bytes`, best of 5 (0 if it cannot run).
double vulkan_copy_bandwidth(VulkanEngine& e, uint64_t bytes);

// "llvmpipe (LLVM 15.0.6, 256 bits), CPU" for messages.
std::string vulkan_engine_device(const VulkanEngine& e);

}  // namespace onprem::model
