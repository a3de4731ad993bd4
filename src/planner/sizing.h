// What a model weighs: from a GGUF file (the bytes of its tensors) or from a built-in description
// (Qwen3.6-27B / 35B-A3B hyper-parameters x a quantisation preset's per-tensor type mix).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "model/config.h"
#include "model/quant_mix.h"

namespace onprem::planner {

struct ModelSizing {
  std::string name;   // "qwen3.6-27b" or the file path
  std::string quant;  // "Q4_K_M", or the file's type mix summary
  model::ModelConfig config;
  uint64_t weights_bytes = 0;  // every tensor
  uint64_t embd_bytes = 0;     // token_embd: decode reads one row of it per token
  uint64_t expert_bytes = 0;   // routed experts: decode reads n_expert_used / n_expert of them
  uint64_t head_bytes = 0;     // output.weight: the LM head, read whole per token
};

// Built-in names: "qwen3.6-27b", "qwen3.6-35b-a3b" (main layers only; a file with the MTP block
// weighs one more layer).
core::Expected<ModelSizing> builtin_model(const std::string& name, model::FileType quant);
core::Expected<ModelSizing> gguf_model(const std::string& path);
// A built-in name or a path to a GGUF file.
core::Expected<ModelSizing> resolve_model(const std::string& name_or_path, model::FileType quant);

// Bytes the weights contribute to one decoded token.
uint64_t weight_bytes_per_token(const ModelSizing& m);

}  // namespace onprem::planner
