// Quantisers of the 16-level codebook types: IQ4_NL (one fp16 scale per 32 values), IQ4_XS (the
// same codebook, 6-bit scales per 32 under one fp16 scale per 256) and MXFP4 (E2M1 levels under a
// power-of-two scale per 32). formats.md §3; layouts in blocks.h.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant/fit.h"
#include "quant/quantize.h"
#include "quant/rounding.h"

namespace onprem::quant {

using core::f32_to_fp16;
using core::fp16_to_f32;

namespace {

// 32 codes as IQ4_NL, IQ4_XS and MXFP4 store them: value j in the low nibble of byte j, value
// j + 16 in its high nibble.
void pack_nibbles(const uint8_t* q, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = uint8_t(q[j] | (q[j + 16] << 4));
}

void round_to_levels(const float* x, float s, const int8_t* levels, uint8_t* q) {
  for (int j = 0; j < 32; ++j) q[j] = nearest_level(levels, s != 0 ? x[j] / s : 0);
}

}  // namespace

void quantize_row_iq4_nl(const float* x, void* dst, int64_t n, const float* w) {
  auto* b = static_cast<BlockIQ4_NL*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK, w = at(w, kQK)) {
    uint8_t q[32];
    b[i].d = f32_to_fp16(fit_levels(x, w, 32, kIq4Levels, q));
    round_to_levels(x, fp16_to_f32(b[i].d), kIq4Levels, q);
    pack_nibbles(q, b[i].qs);
  }
}

void quantize_row_iq4_xs(const float* x, void* dst, int64_t n, const float* w) {
  auto* b = static_cast<BlockIQ4_XS*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK, w = at(w, kQKK)) {
    float sc[8], amax = 0, vmax = 0;
    for (int s = 0; s < 8; ++s) {
      uint8_t q[32];
      sc[s] = fit_levels(x + 32 * s, at(w, 32 * s), 32, kIq4Levels, q);
      if (std::fabs(sc[s]) > amax) amax = std::fabs(sc[s]), vmax = sc[s];
    }
    b[i].d = f32_to_fp16(amax > 0 ? vmax / -32 : 0);
    const float d = fp16_to_f32(b[i].d);
    b[i].scales_h = 0;
    std::memset(b[i].scales_l, 0, 4);
    for (int s = 0; s < 8; ++s) {
      const int l = d != 0 ? std::clamp(nearest(sc[s] / d), -32, 31) : 0;
      const int u = l + 32;
      b[i].scales_l[s / 2] |= uint8_t((u & 0x0F) << (4 * (s % 2)));
      b[i].scales_h |= uint16_t((u >> 4) << (2 * s));
      uint8_t q[32];
      round_to_levels(x + 32 * s, d * float(l), kIq4Levels, q);
      pack_nibbles(q, b[i].qs + 16 * s);
    }
  }
}

// The exponent is chosen by trying the few around the one that puts the largest value at the top
// level (6, stored doubled as 12): the grid is coarse, so a smaller scale that clips the top value
// can still lose less over the block.
void quantize_row_mxfp4(const float* x, void* dst, int64_t n, const float* w) {
  auto* b = static_cast<BlockMXFP4*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK, w = at(w, kQK)) {
    float amax = 0;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    uint8_t best_q[32] = {};
    int best_e = 0;
    if (amax > 0) {
      // 12 · 2^(e − 128) ≈ amax.
      const int e0 = std::clamp(int(std::floor(std::log2(amax / 12))) + 128, 0, 254);
      float best_err = INFINITY;
      for (int e = std::max(0, e0 - 1); e <= std::min(254, e0 + 2); ++e) {
        uint8_t q[32];
        const float s = mxfp4_scale(uint8_t(e));
        round_to_levels(x, s, kMxfp4Levels, q);
        const float err = levels_error(x, w, 32, kMxfp4Levels, q, s);
        if (err < best_err) best_err = err, best_e = e, std::memcpy(best_q, q, 32);
      }
    } else {
      std::memset(best_q, 0, 32);
    }
    b[i].e = uint8_t(best_e);
    pack_nibbles(best_q, b[i].qs);
  }
}

}  // namespace onprem::quant
