// Quantisation presets ("file types") and the per-tensor type mix llama-quantize gives each one:
// used by gen-model to write files and by the planner to size them (one rule set, not two).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ggml_type.h"
#include "core/status.h"
#include "model/config.h"
#include "model/tensor_table.h"

namespace onprem::model {

// llama.cpp's file types, plus kQ4_K (onprem's all-Q4_K preset with a Q6_K head). gen-model and
// quantize write all of them; the planner sizes them.
enum class FileType {
  kF32,
  kF16,
  kBF16,
  kQ8_0,
  kQ6_K,
  kQ5_K_M,
  kQ4_K_M,
  kQ4_K,
  kQ3_K_M,
  kQ5_K_S,
  kQ5_1,
  kQ5_0,
  kQ4_K_S,
  kQ4_1,
  kQ4_0,
  kIQ4_XS,
  kIQ4_NL,
  kQ3_K_L,
  kQ3_K_S,
  kIQ3_M,
  kIQ3_S,
  kIQ3_XXS,
  kQ2_K,
  kIQ2_M,
  kIQ2_S,
  kIQ2_XS,
  kIQ2_XXS,
  kIQ1_M,
  kIQ1_S,
  kMXFP4_MOE,
};
core::Expected<FileType> file_type_from_name(const std::string& name);  // "Q4_K_M", case-insensitive
const char* file_type_name(FileType t);
uint32_t file_type_gguf_id(FileType t);     // general.file_type
core::GgmlType file_type_base(FileType t);  // the type of the tensors no rule moves

// The type of every tensor of the table under a preset (same order as the table), by the rules of
// llama.cpp's llama_tensor_get_type as llama-quantize applies them with an importance matrix (how
// hub files are made): the LM head (Q6_K, Q5_K for the 1-2 bit IQ mixes), token embeddings,
// attn_v (and the DeltaNet attn_qkv, counted with it), attn_k/q, attn_output and ffn_down moved by
// preset, layer and head/expert counts; 1-D tensors, norms, conv, routers, ssm_a and dt bias stay
// F32; rows that are not whole blocks fall back as llama-quantize's fallbacks do. Checked against
// the conformance Q4_K_M files and every realfiles file's own tensor types.
std::vector<core::GgmlType> tensor_types(const std::vector<TensorSpec>& table, const ModelConfig& c, FileType ft);

// Bytes of one tensor stored as type t.
uint64_t tensor_bytes(const TensorSpec& spec, core::GgmlType t);

}  // namespace onprem::model
