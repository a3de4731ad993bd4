// ModelConfig: the hyper-parameters of a qwen35 / qwen35moe model. config.cpp is the only place
// that reads model keys from GGUF metadata (model.md §2); everything else sizes itself from here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace onprem::gguf {
class File;
}

namespace onprem::model {

enum class Arch { kQwen35, kQwen35Moe };
const char* arch_name(Arch a);  // "qwen35" / "qwen35moe"

struct ModelConfig {
  Arch arch = Arch::kQwen35;
  uint32_t n_layer = 0;      // block_count, MTP block included
  uint32_t n_nextn = 0;      // nextn_predict_layers (MTP blocks at the end, not run)
  uint32_t n_ctx_train = 0;  // context_length
  uint32_t n_embd = 0;
  uint32_t n_vocab = 0;
  // Full attention
  uint32_t n_head = 0, n_head_kv = 0;
  uint32_t head_dim = 0;  // key_length == value_length
  uint32_t n_rot = 0;     // rope.dimension_count
  std::array<int32_t, 4> rope_sections{0, 0, 0, 0};
  float rope_theta = 1e7f;
  float rms_eps = 1e-6f;
  // Gated DeltaNet
  uint32_t ssm_conv_kernel = 0;  // 4
  uint32_t ssm_d_state = 0;      // dk = dv
  uint32_t ssm_n_group = 0;      // Hk
  uint32_t ssm_dt_rank = 0;      // Hv
  uint32_t ssm_d_inner = 0;      // Hv * dv
  uint32_t full_attention_interval = 4;
  std::vector<bool> recurrent;  // per main layer: Gated DeltaNet (true) or full attention
  // FFN
  uint32_t n_ff = 0;  // dense
  uint32_t n_expert = 0, n_expert_used = 0;
  uint32_t n_ff_exp = 0, n_ff_shexp = 0;

  uint32_t n_main() const { return n_layer - n_nextn; }
  bool is_moe() const { return arch == Arch::kQwen35Moe; }
  uint32_t n_recurrent_layers() const;
  uint32_t n_attention_layers() const { return n_main() - n_recurrent_layers(); }
  uint32_t ssm_conv_channels() const { return 2 * ssm_n_group * ssm_d_state + ssm_d_inner; }
};

// Reads and validates; errors name the key and what was wrong.
core::Expected<ModelConfig> load_config(const gguf::File& file);
// Checks the relations between fields (head counts divide, inner size matches, ...).
core::Status validate(const ModelConfig& c);
// Fills `recurrent` from full_attention_interval (model.md §2.1).
void assign_layer_kinds(ModelConfig* c);

}  // namespace onprem::model
