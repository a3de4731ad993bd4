// The forward pass on a Vulkan device (issue 19): the same math as forward.cpp, with the weights
// uploaded once and every step recorded into one command graph per call. Float activations
// throughout (as llama.cpp's GPU backends); the KV cache and the recurrent state live on the
// device. One sequence per state; the CPU path stays the reference (tests/model/vulkan_forward_test).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
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
  // Called while weights upload: bytes done and total.
  std::function<void(uint64_t, uint64_t)> progress;
};

// Uploads the model's weights. Fails with a message for a model whose weights were repacked for a
// CPU table, a weight type the device cannot read, or a device that is missing or out of memory.
core::Expected<std::shared_ptr<VulkanEngine>> make_vulkan_engine(const Model& m, const VulkanOptions& o);

// A zeroed sequence of up to n_ctx tokens (at most the engine's max_ctx).
core::Expected<VulkanSequence> make_vulkan_sequence(VulkanEngine& e, int64_t n_ctx);

// As model::forward: evaluates tokens[0..n) at positions s.n_past.. and advances the state.
// logits: [n][n_vocab] when all_logits, else [n_vocab] for the last token.
core::Status forward_vulkan(VulkanEngine& e, VulkanSequence& s, const int32_t* tokens, int64_t n, float* logits,
                            bool all_logits);

// "llvmpipe (LLVM 15.0.6, 256 bits), CPU" for messages.
std::string vulkan_engine_device(const VulkanEngine& e);

}  // namespace onprem::model
