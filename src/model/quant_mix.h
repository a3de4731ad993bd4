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

enum class FileType { kF32, kF16, kBF16, kQ8_0, kQ6_K, kQ5_K_M, kQ4_K_M, kQ4_K, kQ3_K_M };
core::Expected<FileType> file_type_from_name(const std::string& name);  // "Q4_K_M", case-insensitive
const char* file_type_name(FileType t);
uint32_t file_type_gguf_id(FileType t);  // general.file_type

// The type of every tensor of the table under a preset (same order as the table). Rules after
// llama.cpp's llama_tensor_get_type: the LM head Q6_K in every K-quant mix; attn_v (and the
// DeltaNet attn_qkv, counted with it) and ffn_down with more bits in the layers use_more_bits()
// picks (Q6_K for Q4_K_M / Q5_K_M; Q5_K / Q4_K for Q3_K_M); attn_output Q4_K in Q3_K_M; 1-D
// tensors, norms, conv, routers, ssm_a and dt bias stay F32; rows that are not whole blocks fall
// back to Q8_0 or F16. Checked against the conformance Q4_K_M files.
std::vector<core::GgmlType> tensor_types(const std::vector<TensorSpec>& table, const ModelConfig& c, FileType ft);

// Bytes of one tensor stored as type t.
uint64_t tensor_bytes(const TensorSpec& spec, core::GgmlType t);

}  // namespace onprem::model
