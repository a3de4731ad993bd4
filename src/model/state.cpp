#include "model/state.h"

#include <algorithm>

namespace onprem::model {

SequenceState make_state(const ModelConfig& c, int64_t n_ctx, int first_kv_layer) {
  SequenceState s;
  s.n_ctx = n_ctx;
  const size_t L = c.n_main();
  s.k.resize(L), s.v.resize(L), s.conv.resize(L), s.ssm.resize(L);
  const size_t kv = size_t(n_ctx) * c.n_head_kv * c.head_dim;
  for (size_t i = 0; i < L; ++i) {
    if (c.recurrent[i]) {
      s.conv[i].assign(size_t(c.ssm_conv_channels()) * (c.ssm_conv_kernel - 1), 0.0f);
      s.ssm[i].assign(size_t(c.ssm_dt_rank) * c.ssm_d_state * c.ssm_d_state, 0.0f);
    } else if (int64_t(i) >= first_kv_layer) {
      s.k[i].assign(kv, 0.0f);
      s.v[i].assign(kv, 0.0f);
    }
  }
  return s;
}

void SequenceState::clear() {
  n_past = 0;
  for (auto& x : conv) std::fill(x.begin(), x.end(), 0.0f);
  for (auto& x : ssm) std::fill(x.begin(), x.end(), 0.0f);
}

}  // namespace onprem::model
