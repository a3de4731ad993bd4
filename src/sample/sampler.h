// Token sampling: pure functions over a logit row plus an explicit, seeded RNG (no globals).
// The conversation issue grows this (penalties, min-p, loop guard); here: greedy, temperature,
// top-k and top-p.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace onprem::sample {

struct SamplingParams {
  float temperature = 0.8f;  // <= 0: greedy (argmax, lowest id on ties)
  int32_t top_k = 40;        // <= 0: all tokens
  float top_p = 0.95f;       // >= 1: no nucleus cut
  uint64_t seed = 0;
};

using Rng = std::mt19937_64;

int32_t argmax(const float* logits, int64_t n);

// Draws one token id. `scratch` is reused across calls (no allocation once it has grown).
int32_t sample_token(const float* logits, int64_t n, const SamplingParams& p, Rng& rng,
                     std::vector<std::pair<float, int32_t>>& scratch);

}  // namespace onprem::sample
