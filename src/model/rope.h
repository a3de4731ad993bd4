// Rotary position embedding of the attention layers (model.md §6.3, §10): NEOX pairing on the
// first n_rot dims, the interleaved M-RoPE section rule, and static YaRN for sequences longer
// than the native context (factor > 1; used only where a sequence needs it).
#pragma once

#include <cstdint>

#include "model/config.h"

namespace onprem::model {

struct YarnParams {
  float factor = 1;         // s
  float low = 0, high = 0;  // ramp between these pair indices
  float mscale = 1;         // 1 + 0.1 ln s, on cos and sin
};
// llama.cpp's defaults for these models: beta_fast 32, beta_slow 1, ext_factor 1, original
// context = the training context.
YarnParams yarn_params(const ModelConfig& c, float factor);
// 1 for pairs that keep their frequency, 0 for pairs fully interpolated.
float yarn_ramp(const YarnParams& y, int pair);

// cos_sin[2j], cos_sin[2j + 1]: the cosine and sine (YaRN's mscale included) that turn pair
// (j, j + n_rot / 2) at this position; n_rot / 2 pairs. The GPU backends take this table.
void rope_cos_sin(int64_t pos, const ModelConfig& c, float yarn_factor, float* cos_sin);

void rope_neox(float* x, int64_t pos, const ModelConfig& c, float yarn_factor = 1);

}  // namespace onprem::model
