#include "model/memory.h"

namespace onprem::model {

StateSizes state_sizes(const ModelConfig& c, uint64_t kv_elem_num, uint64_t kv_elem_den) {
  StateSizes s;
  const uint64_t n_attn = c.n_attention_layers(), n_lin = c.n_recurrent_layers();
  s.kv_bytes_per_token = n_attn * 2 * c.n_head_kv * c.head_dim * kv_elem_num / kv_elem_den;
  s.conv_state_bytes = n_lin * (c.ssm_conv_kernel - 1) * uint64_t(c.ssm_conv_channels()) * 4;
  s.recurrent_state_bytes = n_lin * uint64_t(c.ssm_dt_rank) * c.ssm_d_state * c.ssm_d_state * 4;
  return s;
}

}  // namespace onprem::model
