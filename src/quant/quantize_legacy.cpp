// Quantisers of the 32-value types Q4_0, Q4_1, Q5_0 and Q5_1, with llama-quantize's rounding
// (formats.md §3): llama-quantize falls back to them for rows that K-quant blocks do not tile
// (Q4_K -> Q5_0, Q5_K -> Q5_1), and the Q4_0 / Q5_0 presets move early ffn_down layers to Q4_1 / Q5_1.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant/fit.h"
#include "quant/quantize.h"

namespace onprem::quant {

using core::f32_to_fp16;

namespace {

// The value of largest magnitude, with its sign: the symmetric types scale by it so that it maps
// onto the most negative code exactly.
float signed_absmax(const float* x) {
  float m = 0, a = 0;
  for (int j = 0; j < kQK; ++j)
    if (std::fabs(x[j]) > a) a = std::fabs(x[j]), m = x[j];
  return m;
}

// Symmetric: d = max / -(2^(bits-1)), codes round(x / d) + 2^(bits-1), clamped to the top code.
template <int kBits>
void symmetric_block(const float* x, float* d, uint8_t* codes) {
  constexpr int kHalf = 1 << (kBits - 1), kTop = (1 << kBits) - 1;
  *d = signed_absmax(x) / -float(kHalf);
  const float id = *d != 0.0f ? 1.0f / *d : 0.0f;
  for (int j = 0; j < kQK; ++j) codes[j] = uint8_t(std::min(kTop, int(int8_t(x[j] * id + float(kHalf) + 0.5f))));
}

// With a minimum: d = (max - min) / top, codes round((x - min) / d).
template <int kBits>
void affine_block(const float* x, float* d, float* mn, uint8_t* codes) {
  constexpr int kTop = (1 << kBits) - 1;
  float lo = x[0], hi = x[0];
  for (int j = 1; j < kQK; ++j) lo = std::min(lo, x[j]), hi = std::max(hi, x[j]);
  *d = (hi - lo) / float(kTop);
  *mn = lo;
  const float id = *d != 0.0f ? 1.0f / *d : 0.0f;
  for (int j = 0; j < kQK; ++j) codes[j] = uint8_t(std::min(kTop, int(uint8_t((x[j] - lo) * id + 0.5f))));
}

void pack4(const uint8_t* codes, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = uint8_t((codes[j] & 0x0F) | (codes[j + 16] & 0x0F) << 4);
}
void pack5_high(const uint8_t* codes, uint8_t* qh) {
  uint32_t h = 0;
  for (int j = 0; j < kQK; ++j) h |= uint32_t((codes[j] >> 4) & 1) << j;
  std::memcpy(qh, &h, 4);
}

// One 32-value type: symmetric (Q4_0, Q5_0) or with a minimum (Q4_1, Q5_1), 4 or 5 bits.
template <class Block, int kBits, bool kAffine>
void quantize_rows_32(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<Block*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float d, m = 0;
    uint8_t codes[kQK];
    if constexpr (kAffine)
      affine_block<kBits>(x, &d, &m, codes);
    else
      symmetric_block<kBits>(x, &d, codes);
    b[i].d = f32_to_fp16(d);
    if constexpr (kAffine) b[i].m = f32_to_fp16(m);
    pack4(codes, b[i].qs);
    if constexpr (kBits == 5) pack5_high(codes, b[i].qh);
  }
}

// With importance weights (an imatrix): the scale (and minimum) from a weighted fit, then each value
// rounded against them as they are stored.
template <class Block, int kBits, bool kAffine>
void quantize_rows_32_weighted(const float* x, void* dst, int64_t n, const float* w) {
  constexpr int kTop = (1 << kBits) - 1, kHalf = 1 << (kBits - 1);
  auto* b = static_cast<Block*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK, w += kQK) {
    uint8_t codes[kQK];
    float m = 0, d;
    if constexpr (kAffine) {
      d = fit_affine(x, w, kQK, kTop, false, &m, codes);
      b[i].m = f32_to_fp16(m);
      m = core::fp16_to_f32(b[i].m);
    } else {
      int8_t signed_codes[kQK];
      d = fit_signed(x, w, kQK, kHalf, signed_codes);
    }
    b[i].d = f32_to_fp16(d);
    d = core::fp16_to_f32(b[i].d);
    for (int j = 0; j < kQK; ++j) {
      const int c = d != 0 ? int(std::nearbyint((x[j] - m) / d)) : 0;
      codes[j] = uint8_t(kAffine ? std::clamp(c, 0, kTop) : std::clamp(c, -kHalf, kHalf - 1) + kHalf);
    }
    pack4(codes, b[i].qs);
    if constexpr (kBits == 5) pack5_high(codes, b[i].qh);
  }
}

}  // namespace

// Without weights: llama-quantize's reference rounding, bit for bit.
void quantize_row_q4_0(const float* x, void* dst, int64_t n, const float* w) {
  w ? quantize_rows_32_weighted<BlockQ4_0, 4, false>(x, dst, n, w) : quantize_rows_32<BlockQ4_0, 4, false>(x, dst, n);
}
void quantize_row_q4_1(const float* x, void* dst, int64_t n, const float* w) {
  w ? quantize_rows_32_weighted<BlockQ4_1, 4, true>(x, dst, n, w) : quantize_rows_32<BlockQ4_1, 4, true>(x, dst, n);
}
void quantize_row_q5_0(const float* x, void* dst, int64_t n, const float* w) {
  w ? quantize_rows_32_weighted<BlockQ5_0, 5, false>(x, dst, n, w) : quantize_rows_32<BlockQ5_0, 5, false>(x, dst, n);
}
void quantize_row_q5_1(const float* x, void* dst, int64_t n, const float* w) {
  w ? quantize_rows_32_weighted<BlockQ5_1, 5, true>(x, dst, n, w) : quantize_rows_32<BlockQ5_1, 5, true>(x, dst, n);
}

}  // namespace onprem::quant
