// Internal: the ARM64 int8 dot kernels, written once over the instruction that sums 16 int8
// products (plain NEON: smull + sadalp; dotprod: sdot). Included by dot_neon.cpp,
// dot_dotprod.cpp and dot_i8mm.cpp, each compiled with its own flags; everything here has
// internal linkage, so each file keeps its own copy (tests/isa checks that none leaks).
//
// Floating point follows one formula per type, in the scalar order written here, so the i8mm
// two-row kernels (dot_i8mm.cpp) give the same bits as these per lane.
#pragma once

#include <arm_neon.h>

#include <cstring>
#include <type_traits>

#include "kernels/kernels.h"
#include "quant/blocks.h"
#include "quant/iq_grids.h"

namespace onprem::kernels::neon {
namespace {

namespace q = quant;

inline float half(uint16_t h) {
  __fp16 f;
  std::memcpy(&f, &h, 2);
  return float(f);
}

// Sub-block s (0..7) scale and minimum of a Q4_K / Q5_K block (the packing of
// quant::unpack_scale_min_k4, restated here so no out-of-line copy can be shared).
inline void scale_min_k4(int s, const uint8_t* p, int* sc, int* m) {
  if (s < 4) {
    *sc = p[s] & 63;
    *m = p[s + 4] & 63;
  } else {
    *sc = (p[s + 4] & 0x0F) | ((p[s - 4] >> 6) << 4);
    *m = (p[s + 4] >> 4) | ((p[s] >> 6) << 4);
  }
}

// Σ of the 8 minimum terms of a Q4_K / Q5_K block against Q8_K's 16-value sums.
inline int32_t k4_mins(const uint8_t* scales, const int16_t* bsums) {
  int32_t mins = 0;
  for (int s = 0; s < 8; ++s) {
    int sc, m;
    scale_min_k4(s, scales, &sc, &m);
    mins += m * (bsums[2 * s] + bsums[2 * s + 1]);
  }
  return mins;
}

// Q4_K / Q5_K codes of sub-blocks 2c (low nibbles) and 2c + 1 (high), 32 each as two int8x16.
struct Codes32x2 {
  int8x16_t lo[2], hi[2];
};
template <bool kFive>
inline Codes32x2 qk45_codes(const uint8_t* qs, const uint8_t* qh, int c) {
  Codes32x2 r;
  const uint8x16_t mask = vdupq_n_u8(0x0F);
  for (int j = 0; j < 2; ++j) {
    const uint8x16_t v = vld1q_u8(qs + 32 * c + 16 * j);
    uint8x16_t lo = vandq_u8(v, mask), hi = vshrq_n_u8(v, 4);
    if constexpr (kFive) {  // bit 2c (low) / 2c + 1 (high) of qh[l] is the code's fifth bit
      const uint8x16_t h = vld1q_u8(qh + 16 * j), bit5 = vdupq_n_u8(0x10);
      lo = vorrq_u8(lo, vandq_u8(vtstq_u8(h, vdupq_n_u8(uint8_t(1u << (2 * c)))), bit5));
      hi = vorrq_u8(hi, vandq_u8(vtstq_u8(h, vdupq_n_u8(uint8_t(1u << (2 * c + 1)))), bit5));
    }
    r.lo[j] = vreinterpretq_s8_u8(lo);
    r.hi[j] = vreinterpretq_s8_u8(hi);
  }
  return r;
}

// Q6_K codes (−32..31) of one 128-value half, in eight 16-value groups g: values 16g..16g+15,
// each with its own scale (scales[8 * half + g]).
inline void q6_k_codes(const q::BlockQ6_K& b, int half_index, int8x16_t out[8]) {
  const uint8_t* L = b.ql + 64 * half_index;
  const uint8_t* H = b.qh + 32 * half_index;
  const uint8x16_t m4 = vdupq_n_u8(0x0F), m2 = vdupq_n_u8(3);
  const int8x16_t off = vdupq_n_s8(32);
  const uint8x16_t l[4] = {vld1q_u8(L), vld1q_u8(L + 16), vld1q_u8(L + 32), vld1q_u8(L + 48)};
  const uint8x16_t h[2] = {vld1q_u8(H), vld1q_u8(H + 16)};
  for (int j = 0; j < 2; ++j) {
    const uint8x16_t h0 = vshlq_n_u8(vandq_u8(h[j], m2), 4);
    const uint8x16_t h1 = vshlq_n_u8(vandq_u8(vshrq_n_u8(h[j], 2), m2), 4);
    const uint8x16_t h2 = vshlq_n_u8(vandq_u8(vshrq_n_u8(h[j], 4), m2), 4);
    const uint8x16_t h3 = vshlq_n_u8(vshrq_n_u8(h[j], 6), 4);
    out[0 + j] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(l[j], m4), h0)), off);
    out[2 + j] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(l[2 + j], m4), h1)), off);
    out[4 + j] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(l[j], 4), h2)), off);
    out[6 + j] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(l[2 + j], 4), h3)), off);
  }
}

inline int8x16_t q4_0_lo(const uint8_t* qs) {
  return vsubq_s8(vreinterpretq_s8_u8(vandq_u8(vld1q_u8(qs), vdupq_n_u8(0x0F))), vdupq_n_s8(8));
}
inline int8x16_t q4_0_hi(const uint8_t* qs) {
  return vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(vld1q_u8(qs), 4)), vdupq_n_s8(8));
}

// ---- weights × int8 activations; Dot::dot16(acc, a, b) adds Σ a_i·b_i over 16 lanes into acc ----

// Q8_0 / Q4_0 / Q4_K / Q5_K / Q6_K are written once for T activation rows: prefill's T tokens
// share each decoded weight block, and T = 1 is the single-token dot. A token's integer sums and
// float operations are the same for any T, so its result has the same bits.
template <class Dot, int T, class Block, int8x16_t (*Lo)(const Block&), int8x16_t (*Hi)(const Block&)>
void q32_q8_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  const auto* a = static_cast<const Block*>(w);
  const auto* const* xs = reinterpret_cast<const q::BlockQ8_0* const*>(xq);
  float acc[T] = {};
  for (int64_t i = 0; i < n / q::kQK; ++i) {
    const int8x16_t lo = Lo(a[i]), hi = Hi(a[i]);
    const float d = half(a[i].d);
    for (int t = 0; t < T; ++t) {
      const q::BlockQ8_0& b = xs[t][i];
      int32x4_t s = Dot::dot16(vdupq_n_s32(0), lo, vld1q_s8(b.qs));
      s = Dot::dot16(s, hi, vld1q_s8(b.qs + 16));
      acc[t] += (d * half(b.d)) * float(vaddvq_s32(s));
    }
  }
  for (int t = 0; t < T; ++t) out[t] = acc[t];
}
inline int8x16_t q8_0_block_lo(const q::BlockQ8_0& b) { return vld1q_s8(b.qs); }
inline int8x16_t q8_0_block_hi(const q::BlockQ8_0& b) { return vld1q_s8(b.qs + 16); }
inline int8x16_t q4_0_block_lo(const q::BlockQ4_0& b) { return q4_0_lo(b.qs); }
inline int8x16_t q4_0_block_hi(const q::BlockQ4_0& b) { return q4_0_hi(b.qs); }

// Q4_K / Q5_K: Σ_blocks d_x · (d · Σ_s sc_s·Σ code·x − dmin · Σ_s m_s·Σ x), integer sums exact.
template <class Dot, int T, class Block, bool kFive>
void qk45_q8_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  const auto* a = static_cast<const Block*>(w);
  const auto* const* xs = reinterpret_cast<const q::BlockQ8_K* const*>(xq);
  float acc[T] = {};
  for (int64_t i = 0; i < n / q::kQKK; ++i) {
    const uint8_t* qh = nullptr;
    if constexpr (kFive) qh = a[i].qh;
    int32_t scaled[T] = {};
    for (int c = 0; c < 4; ++c) {
      const Codes32x2 codes = qk45_codes<kFive>(a[i].qs, qh, c);
      int sc0, sc1, m;
      scale_min_k4(2 * c, a[i].scales, &sc0, &m);
      scale_min_k4(2 * c + 1, a[i].scales, &sc1, &m);
      for (int t = 0; t < T; ++t) {
        const int8_t* x = xs[t][i].qs + 64 * c;
        const int32x4_t lo =
            Dot::dot16(Dot::dot16(vdupq_n_s32(0), codes.lo[0], vld1q_s8(x)), codes.lo[1], vld1q_s8(x + 16));
        const int32x4_t hi =
            Dot::dot16(Dot::dot16(vdupq_n_s32(0), codes.hi[0], vld1q_s8(x + 32)), codes.hi[1], vld1q_s8(x + 48));
        scaled[t] += sc0 * vaddvq_s32(lo) + sc1 * vaddvq_s32(hi);
      }
    }
    for (int t = 0; t < T; ++t) {
      const q::BlockQ8_K& b = xs[t][i];
      const int32_t mins = k4_mins(a[i].scales, b.bsums);
      acc[t] += b.d * (half(a[i].d) * float(scaled[t]) - half(a[i].dmin) * float(mins));
    }
  }
  for (int t = 0; t < T; ++t) out[t] = acc[t];
}

template <class Dot, int T>
void q6_k_q8_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  const auto* a = static_cast<const q::BlockQ6_K*>(w);
  const auto* const* xs = reinterpret_cast<const q::BlockQ8_K* const*>(xq);
  float acc[T] = {};
  for (int64_t i = 0; i < n / q::kQKK; ++i) {
    int32_t sum[T] = {};
    for (int h = 0; h < 2; ++h) {
      int8x16_t codes[8];
      q6_k_codes(a[i], h, codes);
      for (int g = 0; g < 8; ++g)
        for (int t = 0; t < T; ++t) {
          const int32x4_t s = Dot::dot16(vdupq_n_s32(0), codes[g], vld1q_s8(xs[t][i].qs + 128 * h + 16 * g));
          sum[t] += int32_t(a[i].scales[8 * h + g]) * vaddvq_s32(s);
        }
    }
    for (int t = 0; t < T; ++t) acc[t] += (half(a[i].d) * xs[t][i].d) * float(sum[t]);
  }
  for (int t = 0; t < T; ++t) out[t] = acc[t];
}

// The single-token dot of a T-token kernel: its T = 1 instance.
template <void (*Rows)(const void*, const void* const*, int64_t, float*)>
float dot_one(const void* w, const void* xq, int64_t n) {
  float out;
  Rows(w, &xq, n, &out);
  return out;
}

// Tokens per multi-token call (the tables without i8mm's two-row tiles).
inline constexpr int kRowTokens = 4;

// ---- the types published files use below 4 bits and the older 32-value types ----

// 16 nibbles (low or high halves of 16 bytes) through a 16-entry table of int8 levels.
inline int8x16_t lut16(int8x16_t table, uint8x16_t nibbles) { return vqtbl1q_s8(table, nibbles); }

// A 16-byte run of 4-bit codes as two int8x16 of codes 0..15: values 0-15 (low), 16-31 (high).
inline void nibble_pair(const uint8_t* p, uint8x16_t* lo, uint8x16_t* hi) {
  const uint8x16_t v = vld1q_u8(p);
  *lo = vandq_u8(v, vdupq_n_u8(0x0F));
  *hi = vshrq_n_u8(v, 4);
}

template <class Dot>
float dot_lut_q8_0(const uint8_t* qs_first, size_t stride, float (*scale)(const uint8_t*), const int8_t* levels,
                   const q::BlockQ8_0* b, int64_t n) {
  const int8x16_t table = vld1q_s8(levels);
  float acc = 0;
  for (int64_t i = 0; i < n / q::kQK; ++i) {
    const uint8_t* blk = qs_first + size_t(i) * stride;
    uint8x16_t lo, hi;
    nibble_pair(blk + (stride - 16), &lo, &hi);
    int32x4_t s = Dot::dot16(vdupq_n_s32(0), lut16(table, lo), vld1q_s8(b[i].qs));
    s = Dot::dot16(s, lut16(table, hi), vld1q_s8(b[i].qs + 16));
    acc += scale(blk) * half(b[i].d) * float(vaddvq_s32(s));
  }
  return acc;
}
inline float iq4_nl_scale(const uint8_t* blk) {
  uint16_t d;
  std::memcpy(&d, blk, 2);
  return half(d);
}
inline float mxfp4_block_scale(const uint8_t* blk) { return q::mxfp4_scale(blk[0]); }

template <class Dot>
float dot_iq4_nl_q8(const void* w, const void* xq, int64_t n) {
  return dot_lut_q8_0<Dot>(static_cast<const uint8_t*>(w), sizeof(q::BlockIQ4_NL), iq4_nl_scale, q::kIq4Levels,
                           static_cast<const q::BlockQ8_0*>(xq), n);
}
template <class Dot>
float dot_mxfp4_q8(const void* w, const void* xq, int64_t n) {
  return dot_lut_q8_0<Dot>(static_cast<const uint8_t*>(w), sizeof(q::BlockMXFP4), mxfp4_block_scale, q::kMxfp4Levels,
                           static_cast<const q::BlockQ8_0*>(xq), n);
}

// Q4_1 / Q5_0 / Q5_1: codes 0..15 or 0..31 (bit j of qh is value j's fifth bit).
template <class Dot, class Block, bool kFive, bool kMin>
float dot_q45_legacy_q8(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const Block*>(w);
  const auto* b = static_cast<const q::BlockQ8_0*>(xq);
  const uint8x16_t bits = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  float acc = 0;
  for (int64_t i = 0; i < n / q::kQK; ++i) {
    uint8x16_t lo, hi;
    nibble_pair(a[i].qs, &lo, &hi);
    if constexpr (kFive) {
      uint32_t qh;
      std::memcpy(&qh, a[i].qh, 4);
      const uint8x16_t h_lo = vcombine_u8(vdup_n_u8(uint8_t(qh)), vdup_n_u8(uint8_t(qh >> 8)));
      const uint8x16_t h_hi = vcombine_u8(vdup_n_u8(uint8_t(qh >> 16)), vdup_n_u8(uint8_t(qh >> 24)));
      lo = vorrq_u8(lo, vandq_u8(vtstq_u8(h_lo, bits), vdupq_n_u8(0x10)));
      hi = vorrq_u8(hi, vandq_u8(vtstq_u8(h_hi, bits), vdupq_n_u8(0x10)));
    }
    int8x16_t wl = vreinterpretq_s8_u8(lo), wh = vreinterpretq_s8_u8(hi);
    if constexpr (!kMin) wl = vsubq_s8(wl, vdupq_n_s8(16)), wh = vsubq_s8(wh, vdupq_n_s8(16));
    const int8x16_t x0 = vld1q_s8(b[i].qs), x1 = vld1q_s8(b[i].qs + 16);
    const int32x4_t s = Dot::dot16(Dot::dot16(vdupq_n_s32(0), wl, x0), wh, x1);
    const float dx = half(b[i].d);
    acc += half(a[i].d) * dx * float(vaddvq_s32(s));
    if constexpr (kMin) acc += half(a[i].m) * dx * float(vaddlvq_s8(x0) + vaddlvq_s8(x1));
  }
  return acc;
}

template <class Dot>
float dot_iq4_xs_q8(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockIQ4_XS*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  const int8x16_t table = vld1q_s8(q::kIq4Levels);
  float acc = 0;
  for (int64_t i = 0; i < n / q::kQKK; ++i) {
    int32_t sum = 0;
    for (int s = 0; s < 8; ++s) {
      const int scale = ((a[i].scales_l[s / 2] >> (4 * (s % 2))) & 0x0F) | (((a[i].scales_h >> (2 * s)) & 3) << 4);
      uint8x16_t lo, hi;
      nibble_pair(a[i].qs + 16 * s, &lo, &hi);
      const int32x4_t d = Dot::dot16(Dot::dot16(vdupq_n_s32(0), lut16(table, lo), vld1q_s8(b[i].qs + 32 * s)),
                                     lut16(table, hi), vld1q_s8(b[i].qs + 32 * s + 16));
      sum += (scale - 32) * vaddvq_s32(d);
    }
    acc += half(a[i].d) * b[i].d * float(sum);
  }
  return acc;
}

// Q2_K / Q3_K: at shift 0/2/4/6 the 32 bytes of a half's qs give 2 low bits of two 16-value groups.
template <class Dot, bool kThree>
float dot_q23_k_q8(const void* w, const void* xq, int64_t n) {
  using Block = std::conditional_t<kThree, q::BlockQ3_K, q::BlockQ2_K>;
  const auto* a = static_cast<const Block*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  float acc = 0;
  for (int64_t i = 0; i < n / q::kQKK; ++i) {
    int8_t scales[16];
    if constexpr (kThree) q::unpack_scales_q3_k(a[i].scales, scales);
    uint8x16_t hm[2] = {vdupq_n_u8(0), vdupq_n_u8(0)};  // Q3_K's third bits
    if constexpr (kThree) hm[0] = vld1q_u8(a[i].hmask), hm[1] = vld1q_u8(a[i].hmask + 16);
    int32_t sum = 0, mins = 0;
    int g = 0, bit = 0;
    for (int half_ = 0; half_ < 2; ++half_) {
      const uint8x16_t raw[2] = {vld1q_u8(a[i].qs + 32 * half_), vld1q_u8(a[i].qs + 32 * half_ + 16)};
      for (int shift = 0; shift < 8; shift += 2, ++bit)
        for (int part = 0; part < 2; ++part, ++g) {
          uint8x16_t c = vandq_u8(vshlq_u8(raw[part], vdupq_n_s8(int8_t(-shift))), vdupq_n_u8(3));
          int8x16_t code = vreinterpretq_s8_u8(c);
          int sc;
          if constexpr (kThree) {
            const uint8x16_t clear = vceqq_u8(vandq_u8(hm[part], vdupq_n_u8(uint8_t(1 << bit))), vdupq_n_u8(0));
            code = vsubq_s8(code, vreinterpretq_s8_u8(vandq_u8(clear, vdupq_n_u8(4))));
            sc = scales[g] - 32;
          } else {
            sc = a[i].scales[g] & 15;
            mins += (a[i].scales[g] >> 4) * b[i].bsums[g];
          }
          sum += sc * vaddvq_s32(Dot::dot16(vdupq_n_s32(0), code, vld1q_s8(b[i].qs + 16 * g)));
        }
    }
    if constexpr (kThree)
      acc += half(a[i].d) * b[i].d * float(sum);
    else
      acc += b[i].d * (half(a[i].d) * float(sum) - half(a[i].dmin) * float(mins));
  }
  return acc;
}

// ---- lattice types: rows of 8 (IQ2, IQ1) or 4 (IQ3) values from iq_grids.h ----

// Eight sign bits as ±1 in 8 lanes.
inline int8x8_t signs8(uint8_t s) {
  const uint8x8_t bits = {1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x8_t set = vtst_u8(vdup_n_u8(s), bits);
  return vreinterpret_s8_u8(vorr_u8(set, vdup_n_u8(1)));  // 0xFF (-1) where set, else 1
}
inline int8x16_t row16(const int8_t* r0, const int8_t* r1, uint8_t s0, uint8_t s1) {
  return vcombine_s8(vmul_s8(vld1_s8(r0), signs8(s0)), vmul_s8(vld1_s8(r1), signs8(s1)));
}
// Two 4-value rows with the low and high nibble of one sign byte.
inline int8x8_t rows4x2(const int8_t* r0, const int8_t* r1, uint8_t s) {
  int8_t v[8];
  std::memcpy(v, r0, 4);
  std::memcpy(v + 4, r1, 4);
  return vmul_s8(vld1_s8(v), signs8(s));
}

// Σ over a 32-value group of the lattice values (with signs) times x, for the 16-bit scale pair of
// each 16 values: returns {Σ first 16, Σ last 16}.
template <class Dot>
inline void dot32_halves(int8x16_t w0, int8x16_t w1, const int8_t* x, int32_t* s0, int32_t* s1) {
  *s0 = vaddvq_s32(Dot::dot16(vdupq_n_s32(0), w0, vld1q_s8(x)));
  *s1 = vaddvq_s32(Dot::dot16(vdupq_n_s32(0), w1, vld1q_s8(x + 16)));
}

template <class Dot>
float dot_iq2_xxs_q8(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockIQ2_XXS*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  float acc = 0;
  for (int64_t i = 0; i < n / q::kQKK; ++i) {
    int32_t sum = 0;
    for (int g = 0; g < 8; ++g) {
      uint32_t wd[2];
      std::memcpy(wd, a[i].qs + 4 * g, 8);
      const auto& G = q::kIq2xxsGrid;
      const int8x16_t w0 =
          row16(G[wd[0] & 255].data(), G[(wd[0] >> 8) & 255].data(), q::iq_signs(wd[1]), q::iq_signs(wd[1] >> 7));
      const int8x16_t w1 = row16(G[(wd[0] >> 16) & 255].data(), G[wd[0] >> 24].data(), q::iq_signs(wd[1] >> 14),
                                 q::iq_signs(wd[1] >> 21));
      int32_t s0, s1;
      dot32_halves<Dot>(w0, w1, b[i].qs + 32 * g, &s0, &s1);
      sum += int32_t(2 * (wd[1] >> 28) + 1) * (s0 + s1);
    }
    acc += half(a[i].d) * b[i].d * float(sum) * 0.125f;
  }
  return acc;
}

template <class Dot>
float dot_iq2_xs_q8(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockIQ2_XS*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  float acc = 0;
  for (int64_t i = 0; i < n / q::kQKK; ++i) {
    int32_t sum = 0;
    for (int g = 0; g < 8; ++g) {
      const uint16_t* qs = a[i].qs + 4 * g;
      const auto& G = q::kIq2xsGrid;
      const int8x16_t w0 =
          row16(G[qs[0] & 511].data(), G[qs[1] & 511].data(), q::iq_signs(qs[0] >> 9), q::iq_signs(qs[1] >> 9));
      const int8x16_t w1 =
          row16(G[qs[2] & 511].data(), G[qs[3] & 511].data(), q::iq_signs(qs[2] >> 9), q::iq_signs(qs[3] >> 9));
      int32_t s0, s1;
      dot32_halves<Dot>(w0, w1, b[i].qs + 32 * g, &s0, &s1);
      sum += (2 * (a[i].scales[g] & 15) + 1) * s0 + (2 * (a[i].scales[g] >> 4) + 1) * s1;
    }
    acc += half(a[i].d) * b[i].d * float(sum) * 0.125f;
  }
  return acc;
}

template <class Dot>
float dot_iq2_s_q8(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockIQ2_S*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  float acc = 0;
  for (int64_t i = 0; i < n / q::kQKK; ++i) {
    int32_t sum = 0;
    for (int g = 0; g < 8; ++g) {
      const uint8_t* qs = a[i].qs + 4 * g;
      const uint8_t* sg = a[i].qs + 32 + 4 * g;
      const int h = a[i].qh[g];
      const auto& G = q::kIq2sGrid;
      const int8x16_t w0 =
          row16(G[size_t(qs[0] | (h & 3) << 8)].data(), G[size_t(qs[1] | ((h >> 2) & 3) << 8)].data(), sg[0], sg[1]);
      const int8x16_t w1 = row16(G[size_t(qs[2] | ((h >> 4) & 3) << 8)].data(),
                                 G[size_t(qs[3] | ((h >> 6) & 3) << 8)].data(), sg[2], sg[3]);
      int32_t s0, s1;
      dot32_halves<Dot>(w0, w1, b[i].qs + 32 * g, &s0, &s1);
      sum += (2 * (a[i].scales[g] & 15) + 1) * s0 + (2 * (a[i].scales[g] >> 4) + 1) * s1;
    }
    acc += half(a[i].d) * b[i].d * float(sum) * 0.125f;
  }
  return acc;
}

template <class Dot>
float dot_iq3_xxs_q8(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockIQ3_XXS*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  float acc = 0;
  for (int64_t i = 0; i < n / q::kQKK; ++i) {
    int32_t sum = 0;
    for (int g = 0; g < 8; ++g) {
      uint32_t wd;
      std::memcpy(&wd, a[i].qs + 64 + 4 * g, 4);
      const uint8_t* qs = a[i].qs + 8 * g;
      const auto& G = q::kIq3xxsGrid;
      int8x8_t r[4];
      for (int l = 0; l < 4; ++l)
        r[l] = rows4x2(G[qs[2 * l]].data(), G[qs[2 * l + 1]].data(), q::iq_signs(wd >> (7 * l)));
      int32_t s0, s1;
      dot32_halves<Dot>(vcombine_s8(r[0], r[1]), vcombine_s8(r[2], r[3]), b[i].qs + 32 * g, &s0, &s1);
      sum += int32_t(2 * (wd >> 28) + 1) * (s0 + s1);
    }
    acc += half(a[i].d) * b[i].d * float(sum) * 0.25f;
  }
  return acc;
}

template <class Dot>
float dot_iq3_s_q8(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockIQ3_S*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  float acc = 0;
  for (int64_t i = 0; i < n / q::kQKK; ++i) {
    int32_t sum = 0;
    for (int g = 0; g < 8; ++g) {
      const uint8_t* qs = a[i].qs + 8 * g;
      const int h = a[i].qh[g];
      const auto& G = q::kIq3sGrid;
      int8x8_t r[4];
      for (int l = 0; l < 4; ++l)
        r[l] = rows4x2(G[size_t(qs[2 * l] | ((h >> (2 * l)) & 1) << 8)].data(),
                       G[size_t(qs[2 * l + 1] | ((h >> (2 * l + 1)) & 1) << 8)].data(), a[i].signs[4 * g + l]);
      int32_t s0, s1;
      dot32_halves<Dot>(vcombine_s8(r[0], r[1]), vcombine_s8(r[2], r[3]), b[i].qs + 32 * g, &s0, &s1);
      const int scale4 = g % 2 ? a[i].scales[g / 2] >> 4 : a[i].scales[g / 2] & 15;
      sum += (1 + 2 * scale4) * (s0 + s1);
    }
    acc += half(a[i].d) * b[i].d * float(sum);
  }
  return acc;
}

// IQ1: values -1, 0, 1 plus a shift of ±1/8 per group (IQ1_S) or per 8 values (IQ1_M).
template <class Dot>
float dot_iq1_s_q8(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockIQ1_S*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  float acc = 0;
  for (int64_t i = 0; i < n / q::kQKK; ++i) {
    int32_t sum = 0, shifted = 0;
    for (int g = 0; g < 8; ++g) {
      const uint16_t h = a[i].qh[g];
      const uint8_t* qs = a[i].qs + 4 * g;
      const auto& G = q::kIq1sGrid;
      const int8x16_t w0 = vcombine_s8(vld1_s8(G[size_t(qs[0] | (h & 7) << 8)].data()),
                                       vld1_s8(G[size_t(qs[1] | ((h >> 3) & 7) << 8)].data()));
      const int8x16_t w1 = vcombine_s8(vld1_s8(G[size_t(qs[2] | ((h >> 6) & 7) << 8)].data()),
                                       vld1_s8(G[size_t(qs[3] | ((h >> 9) & 7) << 8)].data()));
      int32_t s0, s1;
      dot32_halves<Dot>(w0, w1, b[i].qs + 32 * g, &s0, &s1);
      const int scale = 2 * ((h >> 12) & 7) + 1;
      sum += scale * (s0 + s1);
      shifted += scale * (h & 0x8000 ? -1 : 1) * (b[i].bsums[2 * g] + b[i].bsums[2 * g + 1]);
    }
    acc += half(a[i].d) * b[i].d * (float(sum) + q::kIq1Delta * float(shifted));
  }
  return acc;
}

template <class Dot>
float dot_iq1_m_q8(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockIQ1_M*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  float acc = 0;
  for (int64_t i = 0; i < n / q::kQKK; ++i) {
    uint16_t sc[4];
    std::memcpy(sc, a[i].scales, 8);
    const float d = half(q::iq1_m_scale_bits(sc));
    int32_t sum = 0, shifted = 0;
    for (int g = 0; g < 8; ++g) {
      const uint8_t* qs = a[i].qs + 4 * g;
      const uint8_t* qh = a[i].qh + 2 * g;
      const int8_t* x = b[i].qs + 32 * g;
      const int shift = 6 * (g % 2);
      const int scales[2] = {2 * ((sc[g / 2] >> shift) & 7) + 1, 2 * ((sc[g / 2] >> (shift + 3)) & 7) + 1};
      for (int l = 0; l < 4; ++l) {
        const int hb = qh[l / 2] >> (4 * (l % 2));
        const int8x8_t gv = vld1_s8(q::kIq1sGrid[size_t(qs[l] | (hb & 7) << 8)].data());
        const int8x8_t xv = vld1_s8(x + 8 * l);
        const int32_t gx = vaddlvq_s16(vmull_s8(gv, xv)), sx = vaddlv_s8(xv);
        sum += scales[l / 2] * gx;
        shifted += scales[l / 2] * (hb & 8 ? -1 : 1) * sx;
      }
    }
    acc += d * b[i].d * (float(sum) + q::kIq1Delta * float(shifted));
  }
  return acc;
}

// The int8 entries of a table, over one Dot.
template <class Dot>
void fill_int8_dots(Kernels& k) {
  using core::GgmlType;
  auto rows = [&](GgmlType t, DotQ8Fn one, DotQ8MultiFn multi) {
    k.types[uint32_t(t)].dot_q8 = one;
    k.types[uint32_t(t)].dot_q8_multi = multi;
    k.types[uint32_t(t)].multi_tokens = kRowTokens;
  };
  using B8 = q::BlockQ8_0;
  using B4 = q::BlockQ4_0;
  rows(GgmlType::kQ8_0, dot_one<q32_q8_rows<Dot, 1, B8, q8_0_block_lo, q8_0_block_hi>>,
       q32_q8_rows<Dot, kRowTokens, B8, q8_0_block_lo, q8_0_block_hi>);
  rows(GgmlType::kQ4_0, dot_one<q32_q8_rows<Dot, 1, B4, q4_0_block_lo, q4_0_block_hi>>,
       q32_q8_rows<Dot, kRowTokens, B4, q4_0_block_lo, q4_0_block_hi>);
  rows(GgmlType::kQ4_K, dot_one<qk45_q8_rows<Dot, 1, q::BlockQ4_K, false>>,
       qk45_q8_rows<Dot, kRowTokens, q::BlockQ4_K, false>);
  rows(GgmlType::kQ5_K, dot_one<qk45_q8_rows<Dot, 1, q::BlockQ5_K, true>>,
       qk45_q8_rows<Dot, kRowTokens, q::BlockQ5_K, true>);
  rows(GgmlType::kQ6_K, dot_one<q6_k_q8_rows<Dot, 1>>, q6_k_q8_rows<Dot, kRowTokens>);
  k.types[uint32_t(GgmlType::kIQ4_NL)].dot_q8 = dot_iq4_nl_q8<Dot>;
  k.types[uint32_t(GgmlType::kMXFP4)].dot_q8 = dot_mxfp4_q8<Dot>;
  k.types[uint32_t(GgmlType::kQ4_1)].dot_q8 = dot_q45_legacy_q8<Dot, q::BlockQ4_1, false, true>;
  k.types[uint32_t(GgmlType::kQ5_0)].dot_q8 = dot_q45_legacy_q8<Dot, q::BlockQ5_0, true, false>;
  k.types[uint32_t(GgmlType::kQ5_1)].dot_q8 = dot_q45_legacy_q8<Dot, q::BlockQ5_1, true, true>;
  k.types[uint32_t(GgmlType::kIQ4_XS)].dot_q8 = dot_iq4_xs_q8<Dot>;
  k.types[uint32_t(GgmlType::kQ2_K)].dot_q8 = dot_q23_k_q8<Dot, false>;
  k.types[uint32_t(GgmlType::kQ3_K)].dot_q8 = dot_q23_k_q8<Dot, true>;
  k.types[uint32_t(GgmlType::kIQ2_XXS)].dot_q8 = dot_iq2_xxs_q8<Dot>;
  k.types[uint32_t(GgmlType::kIQ2_XS)].dot_q8 = dot_iq2_xs_q8<Dot>;
  k.types[uint32_t(GgmlType::kIQ2_S)].dot_q8 = dot_iq2_s_q8<Dot>;
  k.types[uint32_t(GgmlType::kIQ3_XXS)].dot_q8 = dot_iq3_xxs_q8<Dot>;
  k.types[uint32_t(GgmlType::kIQ3_S)].dot_q8 = dot_iq3_s_q8<Dot>;
  k.types[uint32_t(GgmlType::kIQ1_S)].dot_q8 = dot_iq1_s_q8<Dot>;
  k.types[uint32_t(GgmlType::kIQ1_M)].dot_q8 = dot_iq1_m_q8<Dot>;
}

}  // namespace
}  // namespace onprem::kernels::neon
