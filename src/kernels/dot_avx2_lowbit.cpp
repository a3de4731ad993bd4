// AVX2 dot products with int8 activations for the types published files use below 4 bits per
// weight and the older 32-value types: each group of 32 weights is turned into 32 signed int8 (a
// 16-entry table lookup, bit unpacking, or lattice rows with their signs), multiplied with the int8
// activations exactly (maddubs/madd), and the integer sums are scaled in float per block. The
// AVX-512 table uses these too. The scalar reference (dot_ref.cpp) decodes the same blocks.
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "kernels/simd_avx2.h"
#include "kernels/variants.h"
#include "quant/blocks.h"
#include "quant/iq_grids.h"

namespace onprem::kernels {

namespace {

using namespace avx2;
namespace q = quant;

inline float half(uint16_t h) { return _cvtsh_ss(h); }
inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Σ w_i x_i of 32 signed int8 pairs, as 8 int32 lanes (lane k: values 4k..4k+3). The sign of w moves
// onto x so that maddubs sees an unsigned operand; |w|, |x| ≤ 127 keeps its int16 pairs exact.
inline __m256i dot32(__m256i w, __m256i x) {
  const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
  return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

// The same for unsigned weights 0..127 (no sign transfer needed).
inline __m256i dot32_unsigned(__m256i w, __m256i x) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1));
}

// 16 bytes of nibbles as 32 codes: low nibbles first (values 0-15), then high (16-31).
inline __m256i nibbles32(const uint8_t* p) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i m = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m), _mm_and_si128(raw, m));
}

// Bit j of the 32-bit word `bits` as 0x10 in byte j (the fifth bit of Q5_0 / Q5_1 codes).
inline __m256i fifth_bits(uint32_t bits) {
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
  const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(int32_t(bits)), shuf);
  const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit), _mm256_set1_epi8(0x10));
}

// Four sign bytes (one per 8 values) as ±1 in 32 bytes.
inline __m256i signs32(uint32_t four_bytes) {
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
  const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(int32_t(four_bytes)), shuf);
  const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201));
  return _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit), _mm256_set1_epi8(1));
}

// ---- 32-value blocks against Q8_0 activations ----

template <const int8_t* kLevels>
float dot_lut16_q8_0(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockIQ4_NL*>(w);  // IQ4_NL layout: fp16 scale, 16 bytes of nibbles
  const auto* b = static_cast<const q::BlockQ8_0*>(xq);
  const __m256i lut = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kLevels)));
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 32; ++i) {
    prefetch_ahead<sizeof(*a)>(a + i);
    const __m256i wv = _mm256_shuffle_epi8(lut, nibbles32(a[i].qs));
    const __m256i s = dot32(wv, load32(b[i].qs));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(half(a[i].d) * half(b[i].d)), acc);
  }
  return hsum(acc);
}

float dot_mxfp4_q8_0(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockMXFP4*>(w);
  const auto* b = static_cast<const q::BlockQ8_0*>(xq);
  const __m256i lut = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q::kMxfp4Levels)));
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 32; ++i) {
    prefetch_ahead<sizeof(*a)>(a + i);
    const __m256i wv = _mm256_shuffle_epi8(lut, nibbles32(a[i].qs));
    const __m256i s = dot32(wv, load32(b[i].qs));
    const float scale = q::mxfp4_scale(a[i].e);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(scale * half(b[i].d)), acc);
  }
  return hsum(acc);
}

// Σ x of a Q8_0 block's codes, as 8 int32 lanes.
inline __m256i sum_x(__m256i x) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), x), _mm256_set1_epi16(1));
}

float dot_q4_1_q8_0(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockQ4_1*>(w);
  const auto* b = static_cast<const q::BlockQ8_0*>(xq);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 32; ++i) {
    prefetch_ahead<sizeof(*a)>(a + i);
    const __m256i x = load32(b[i].qs);
    const float dx = half(b[i].d);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot32_unsigned(nibbles32(a[i].qs), x)), _mm256_set1_ps(half(a[i].d) * dx),
                          acc);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum_x(x)), _mm256_set1_ps(half(a[i].m) * dx), acc);
  }
  return hsum(acc);
}

template <bool kMin>
float dot_q5_q8_0(const void* w, const void* xq, int64_t n) {
  using Block = std::conditional_t<kMin, q::BlockQ5_1, q::BlockQ5_0>;
  const auto* a = static_cast<const Block*>(w);
  const auto* b = static_cast<const q::BlockQ8_0*>(xq);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 32; ++i) {
    prefetch_ahead<sizeof(*a)>(a + i);
    uint32_t qh;
    std::memcpy(&qh, a[i].qh, 4);
    const __m256i codes = _mm256_or_si256(nibbles32(a[i].qs), fifth_bits(qh));  // 0..31
    const __m256i x = load32(b[i].qs);
    const float dx = half(b[i].d);
    if constexpr (kMin) {
      acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot32_unsigned(codes, x)), _mm256_set1_ps(half(a[i].d) * dx), acc);
      acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum_x(x)), _mm256_set1_ps(half(a[i].m) * dx), acc);
    } else {
      const __m256i s = dot32(_mm256_sub_epi8(codes, _mm256_set1_epi8(16)), x);
      acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(half(a[i].d) * dx), acc);
    }
  }
  return hsum(acc);
}

// ---- 256-value super-blocks against Q8_K activations ----

// Per-16-value scales for the two halves of a 32-value group: int32 lanes 0-3 get s0, 4-7 get s1.
inline __m256i scale_pair(int s0, int s1) { return _mm256_set_epi32(s1, s1, s1, s1, s0, s0, s0, s0); }

// The 256-value kernels below are written once for T activation rows (prefill: T tokens share
// each decoded group; T = 1 is the single-token dot). A token's integer sums and float operations
// are the same for any T, so its result has the same bits.

// 16-bit multipliers for maddubs's int16 lanes of one 32-value group: lanes 0-7 (values 0-15, the
// low 128 bits) take s0, lanes 8-15 take s1. madd by them scales and sums pairs exactly.
inline __m256i scale16_pair(int s0, int s1) {
  return _mm256_set_m128i(_mm_set1_epi16(int16_t(s1)), _mm_set1_epi16(int16_t(s0)));
}

template <int T>
void iq4_xs_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  const auto* a = static_cast<const q::BlockIQ4_XS*>(w);
  const auto* const* xs = reinterpret_cast<const q::BlockQ8_K* const*>(xq);
  const __m256i lut = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q::kIq4Levels)));
  float total[T] = {};
  for (int64_t i = 0; i < n / 256; ++i) {
    prefetch_ahead<sizeof(*a)>(a + i);
    __m256i isum[T];
    for (int t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
    for (int s = 0; s < 8; ++s) {
      const int scale = ((a[i].scales_l[s / 2] >> (4 * (s % 2))) & 0x0F) | (((a[i].scales_h >> (2 * s)) & 3) << 4);
      const __m256i wv = _mm256_shuffle_epi8(lut, nibbles32(a[i].qs + 16 * s));
      const __m256i mag = _mm256_sign_epi8(wv, wv);
      const __m256i sc = _mm256_set1_epi16(int16_t(scale - 32));
      for (int t = 0; t < T; ++t) {
        const __m256i x = _mm256_sign_epi8(load32(xs[t][i].qs + 32 * s), wv);
        isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(_mm256_maddubs_epi16(mag, x), sc));
      }
    }
    const float d = half(a[i].d);
    for (int t = 0; t < T; ++t) total[t] += d * xs[t][i].d * float(hsum_i32(isum[t]));
  }
  for (int t = 0; t < T; ++t) out[t] = total[t];
}

// Q2_K / Q3_K: the 32 bytes of one half's qs give, at shift 0/2/4/6, the 2 low bits of 32
// consecutive values (two groups of 16 with their own scales).
template <int T>
void q2_k_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  const auto* a = static_cast<const q::BlockQ2_K*>(w);
  const auto* const* xs = reinterpret_cast<const q::BlockQ8_K* const*>(xq);
  const __m256i three = _mm256_set1_epi8(3), low4 = _mm256_set1_epi8(15);
  float total[T] = {};
  for (int64_t i = 0; i < n / 256; ++i) {
    prefetch_ahead<sizeof(*a)>(a + i);
    __m256i isum[T];
    for (int t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
    int g = 0;
    for (int half_ = 0; half_ < 2; ++half_) {
      const __m256i raw = load32(a[i].qs + 32 * half_);
      for (int shift = 0; shift < 8; shift += 2, g += 2) {
        const __m256i codes = _mm256_and_si256(_mm256_srli_epi16(raw, shift), three);
        const __m256i sc = scale16_pair(a[i].scales[g] & 15, a[i].scales[g + 1] & 15);
        for (int t = 0; t < T; ++t)
          isum[t] = _mm256_add_epi32(isum[t],
                                     _mm256_madd_epi16(_mm256_maddubs_epi16(codes, load32(xs[t][i].qs + 16 * g)), sc));
      }
    }
    // The minimums (high nibbles of the 16 scale bytes) against the 16 per-16 sums, in one madd.
    const __m128i sb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a[i].scales));
    const __m256i m16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sb, 4), _mm256_castsi256_si128(low4)));
    const float d = half(a[i].d), dmin = half(a[i].dmin);
    for (int t = 0; t < T; ++t) {
      const q::BlockQ8_K& b = xs[t][i];
      const int32_t mins =
          hsum_i32(_mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.bsums)), m16));
      total[t] += b.d * (d * float(hsum_i32(isum[t])) - dmin * float(mins));
    }
  }
  for (int t = 0; t < T; ++t) out[t] = total[t];
}

template <int T>
void q3_k_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  const auto* a = static_cast<const q::BlockQ3_K*>(w);
  const auto* const* xs = reinterpret_cast<const q::BlockQ8_K* const*>(xq);
  const __m256i three = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
  float total[T] = {};
  for (int64_t i = 0; i < n / 256; ++i) {
    prefetch_ahead<sizeof(*a)>(a + i);
    int8_t scales[16];
    q::unpack_scales_q3_k(a[i].scales, scales);
    const __m256i hm = load32(a[i].hmask);
    __m256i isum[T];
    for (int t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
    int g = 0, bit = 0;
    for (int half_ = 0; half_ < 2; ++half_) {
      const __m256i raw = load32(a[i].qs + 32 * half_);
      for (int shift = 0; shift < 8; shift += 2, g += 2, ++bit) {
        const __m256i m = _mm256_set1_epi8(char(1 << bit));
        const __m256i low = _mm256_and_si256(_mm256_srli_epi16(raw, shift), three);
        const __m256i high_clear = _mm256_cmpeq_epi8(_mm256_and_si256(hm, m), _mm256_setzero_si256());
        const __m256i codes = _mm256_sub_epi8(low, _mm256_and_si256(high_clear, four));  // -4..3
        const __m256i mag = _mm256_sign_epi8(codes, codes);
        const __m256i sc = scale16_pair(scales[g] - 32, scales[g + 1] - 32);
        for (int t = 0; t < T; ++t) {
          const __m256i x = _mm256_sign_epi8(load32(xs[t][i].qs + 16 * g), codes);
          isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(_mm256_maddubs_epi16(mag, x), sc));
        }
      }
    }
    const float d = half(a[i].d);
    for (int t = 0; t < T; ++t) total[t] += d * xs[t][i].d * float(hsum_i32(isum[t]));
  }
  for (int t = 0; t < T; ++t) out[t] = total[t];
}

// ---- lattice formats: rows of 8 (or 4) magnitudes from iq_grids.h, signs applied as ±1 ----

inline __m256i rows8(const int8_t* r0, const int8_t* r1, const int8_t* r2, const int8_t* r3) {
  int64_t v[4];
  std::memcpy(&v[0], r0, 8), std::memcpy(&v[1], r1, 8), std::memcpy(&v[2], r2, 8), std::memcpy(&v[3], r3, 8);
  return _mm256_set_epi64x(v[3], v[2], v[1], v[0]);
}

float dot_iq2_xxs_q8_k(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockIQ2_XXS*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  float total = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    prefetch_ahead<sizeof(*a)>(a + i);
    __m256i isum = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {
      uint32_t wd[2];
      std::memcpy(wd, a[i].qs + 4 * g, 8);
      const auto& G = q::kIq2xxsGrid;
      const __m256i mag = rows8(G[wd[0] & 255].data(), G[(wd[0] >> 8) & 255].data(), G[(wd[0] >> 16) & 255].data(),
                                G[wd[0] >> 24].data());
      const uint32_t sg = uint32_t(q::iq_signs(wd[1])) | uint32_t(q::iq_signs(wd[1] >> 7)) << 8 |
                          uint32_t(q::iq_signs(wd[1] >> 14)) << 16 | uint32_t(q::iq_signs(wd[1] >> 21)) << 24;
      const __m256i s = dot32(_mm256_sign_epi8(mag, signs32(sg)), load32(b[i].qs + 32 * g));
      isum = _mm256_add_epi32(isum, _mm256_mullo_epi32(s, _mm256_set1_epi32(int32_t(2 * (wd[1] >> 28) + 1))));
    }
    total += half(a[i].d) * b[i].d * float(hsum_i32(isum)) * 0.125f;  // d (0.5 + s) / 4 = d (2s + 1) / 8
  }
  return total;
}

float dot_iq2_xs_q8_k(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockIQ2_XS*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  float total = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    prefetch_ahead<sizeof(*a)>(a + i);
    __m256i isum = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {
      const uint16_t* qs = a[i].qs + 4 * g;
      const auto& G = q::kIq2xsGrid;
      const __m256i mag =
          rows8(G[qs[0] & 511].data(), G[qs[1] & 511].data(), G[qs[2] & 511].data(), G[qs[3] & 511].data());
      const uint32_t sg = uint32_t(q::iq_signs(qs[0] >> 9)) | uint32_t(q::iq_signs(qs[1] >> 9)) << 8 |
                          uint32_t(q::iq_signs(qs[2] >> 9)) << 16 | uint32_t(q::iq_signs(qs[3] >> 9)) << 24;
      const __m256i s = dot32(_mm256_sign_epi8(mag, signs32(sg)), load32(b[i].qs + 32 * g));
      const __m256i sc = scale_pair(2 * (a[i].scales[g] & 15) + 1, 2 * (a[i].scales[g] >> 4) + 1);
      isum = _mm256_add_epi32(isum, _mm256_mullo_epi32(s, sc));
    }
    total += half(a[i].d) * b[i].d * float(hsum_i32(isum)) * 0.125f;
  }
  return total;
}

float dot_iq2_s_q8_k(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockIQ2_S*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  float total = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    prefetch_ahead<sizeof(*a)>(a + i);
    __m256i isum = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {
      const uint8_t* qs = a[i].qs + 4 * g;
      const int h = a[i].qh[g];
      const auto& G = q::kIq2sGrid;
      const __m256i mag =
          rows8(G[size_t(qs[0] | (h & 3) << 8)].data(), G[size_t(qs[1] | ((h >> 2) & 3) << 8)].data(),
                G[size_t(qs[2] | ((h >> 4) & 3) << 8)].data(), G[size_t(qs[3] | ((h >> 6) & 3) << 8)].data());
      uint32_t sg;
      std::memcpy(&sg, a[i].qs + 32 + 4 * g, 4);
      const __m256i s = dot32(_mm256_sign_epi8(mag, signs32(sg)), load32(b[i].qs + 32 * g));
      const __m256i sc = scale_pair(2 * (a[i].scales[g] & 15) + 1, 2 * (a[i].scales[g] >> 4) + 1);
      isum = _mm256_add_epi32(isum, _mm256_mullo_epi32(s, sc));
    }
    total += half(a[i].d) * b[i].d * float(hsum_i32(isum)) * 0.125f;
  }
  return total;
}

// Eight rows of 4 magnitudes (IQ3) as 32 bytes.
template <size_t N>
inline __m256i rows4(const std::array<std::array<int8_t, 4>, N>& G, const int* idx) {
  int32_t v[8];
  for (int k = 0; k < 8; ++k) std::memcpy(&v[k], G[size_t(idx[k])].data(), 4);
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v));
}

float dot_iq3_xxs_q8_k(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockIQ3_XXS*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  float total = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    prefetch_ahead<sizeof(*a)>(a + i);
    __m256i isum = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {
      uint32_t wd;
      std::memcpy(&wd, a[i].qs + 64 + 4 * g, 4);
      int idx[8];
      for (int k = 0; k < 8; ++k) idx[k] = a[i].qs[8 * g + k];
      const __m256i mag = rows4(q::kIq3xxsGrid, idx);
      const uint32_t sg = uint32_t(q::iq_signs(wd)) | uint32_t(q::iq_signs(wd >> 7)) << 8 |
                          uint32_t(q::iq_signs(wd >> 14)) << 16 | uint32_t(q::iq_signs(wd >> 21)) << 24;
      const __m256i s = dot32(_mm256_sign_epi8(mag, signs32(sg)), load32(b[i].qs + 32 * g));
      isum = _mm256_add_epi32(isum, _mm256_mullo_epi32(s, _mm256_set1_epi32(int32_t(2 * (wd >> 28) + 1))));
    }
    total += half(a[i].d) * b[i].d * float(hsum_i32(isum)) * 0.25f;  // d (0.5 + s) / 2 = d (2s + 1) / 4
  }
  return total;
}

float dot_iq3_s_q8_k(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockIQ3_S*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  float total = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    prefetch_ahead<sizeof(*a)>(a + i);
    __m256i isum = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {
      const uint8_t* qs = a[i].qs + 8 * g;
      const int h = a[i].qh[g];
      int idx[8];
      for (int k = 0; k < 8; ++k) idx[k] = qs[k] | ((h >> k) & 1) << 8;
      const __m256i mag = rows4(q::kIq3sGrid, idx);
      uint32_t sg;
      std::memcpy(&sg, a[i].signs + 4 * g, 4);
      const __m256i s = dot32(_mm256_sign_epi8(mag, signs32(sg)), load32(b[i].qs + 32 * g));
      const int scale4 = g % 2 ? a[i].scales[g / 2] >> 4 : a[i].scales[g / 2] & 15;
      isum = _mm256_add_epi32(isum, _mm256_mullo_epi32(s, _mm256_set1_epi32(1 + 2 * scale4)));
    }
    total += half(a[i].d) * b[i].d * float(hsum_i32(isum));
  }
  return total;
}

// IQ1: lattice values -1, 0, 1 plus a shift of ±1/8, so Σ (g + δ) x = Σ g x + δ Σ x; g x is x with
// g's sign (sign_epi8 zeroes it where g = 0).
float dot_iq1_s_q8_k(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockIQ1_S*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  float total = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    prefetch_ahead<sizeof(*a)>(a + i);
    __m256i isum = _mm256_setzero_si256();
    int32_t shifted = 0;  // Σ over groups of scale · sign(δ) · Σ x
    for (int g = 0; g < 8; ++g) {
      const uint16_t h = a[i].qh[g];
      const uint8_t* qs = a[i].qs + 4 * g;
      const auto& G = q::kIq1sGrid;
      const __m256i gv =
          rows8(G[size_t(qs[0] | (h & 7) << 8)].data(), G[size_t(qs[1] | ((h >> 3) & 7) << 8)].data(),
                G[size_t(qs[2] | ((h >> 6) & 7) << 8)].data(), G[size_t(qs[3] | ((h >> 9) & 7) << 8)].data());
      const __m256i s = sum_x(_mm256_sign_epi8(load32(b[i].qs + 32 * g), gv));
      const int scale = 2 * ((h >> 12) & 7) + 1;
      isum = _mm256_add_epi32(isum, _mm256_mullo_epi32(s, _mm256_set1_epi32(scale)));
      shifted += scale * (h & 0x8000 ? -1 : 1) * (b[i].bsums[2 * g] + b[i].bsums[2 * g + 1]);
    }
    total += half(a[i].d) * b[i].d * (float(hsum_i32(isum)) + q::kIq1Delta * float(shifted));
  }
  return total;
}

float dot_iq1_m_q8_k(const void* w, const void* xq, int64_t n) {
  const auto* a = static_cast<const q::BlockIQ1_M*>(w);
  const auto* b = static_cast<const q::BlockQ8_K*>(xq);
  float total = 0;
  for (int64_t i = 0; i < n / 256; ++i) {
    prefetch_ahead<sizeof(*a)>(a + i);
    uint16_t sc[4];
    std::memcpy(sc, a[i].scales, 8);
    const float d = half(q::iq1_m_scale_bits(sc));
    __m256i isum = _mm256_setzero_si256(), shifted = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {
      const uint8_t* qs = a[i].qs + 4 * g;
      const uint8_t* qh = a[i].qh + 2 * g;
      const auto& G = q::kIq1sGrid;
      const __m256i gv =
          rows8(G[size_t(qs[0] | (qh[0] & 7) << 8)].data(), G[size_t(qs[1] | ((qh[0] >> 4) & 7) << 8)].data(),
                G[size_t(qs[2] | (qh[1] & 7) << 8)].data(), G[size_t(qs[3] | ((qh[1] >> 4) & 7) << 8)].data());
      const __m256i x = load32(b[i].qs + 32 * g);
      const int shift = 6 * (g % 2);
      const __m256i scale = scale_pair(2 * ((sc[g / 2] >> shift) & 7) + 1, 2 * ((sc[g / 2] >> (shift + 3)) & 7) + 1);
      isum = _mm256_add_epi32(isum, _mm256_mullo_epi32(sum_x(_mm256_sign_epi8(x, gv)), scale));
      // Each 8 values (int32 lanes 2r, 2r+1) have their own shift sign.
      const int s0 = qh[0] & 8 ? -1 : 1, s1 = qh[0] & 0x80 ? -1 : 1, s2 = qh[1] & 8 ? -1 : 1,
                s3 = qh[1] & 0x80 ? -1 : 1;
      const __m256i signs = _mm256_set_epi32(s3, s3, s2, s2, s1, s1, s0, s0);
      shifted = _mm256_add_epi32(shifted, _mm256_mullo_epi32(_mm256_mullo_epi32(sum_x(x), signs), scale));
    }
    total += d * b[i].d * (float(hsum_i32(isum)) + q::kIq1Delta * float(hsum_i32(shifted)));
  }
  return total;
}

}  // namespace

void fill_avx2_lowbit(Kernels& k) {
  auto set_q8 = [&](core::GgmlType t, DotQ8Fn f) { k.types[static_cast<uint32_t>(t)].dot_q8 = f; };
  set_q8(core::GgmlType::kIQ4_NL, dot_lut16_q8_0<q::kIq4Levels>);
  set_q8(core::GgmlType::kMXFP4, dot_mxfp4_q8_0);
  set_q8(core::GgmlType::kQ4_1, dot_q4_1_q8_0);
  set_q8(core::GgmlType::kQ5_0, dot_q5_q8_0<false>);
  set_q8(core::GgmlType::kQ5_1, dot_q5_q8_0<true>);
  // Tokens per multi-token call, as in dot_avx2.cpp.
  constexpr int kRowTokens = 4;
  auto set_rows = [&](core::GgmlType t, DotQ8Fn one, DotQ8MultiFn rows) {
    auto& e = k.types[static_cast<uint32_t>(t)];
    e.dot_q8 = one, e.dot_q8_multi = rows, e.multi_tokens = kRowTokens;
  };
  set_rows(core::GgmlType::kIQ4_XS, dot_one<iq4_xs_rows<1>>, iq4_xs_rows<kRowTokens>);
  set_rows(core::GgmlType::kQ2_K, dot_one<q2_k_rows<1>>, q2_k_rows<kRowTokens>);
  set_rows(core::GgmlType::kQ3_K, dot_one<q3_k_rows<1>>, q3_k_rows<kRowTokens>);
  set_q8(core::GgmlType::kIQ2_XXS, dot_iq2_xxs_q8_k);
  set_q8(core::GgmlType::kIQ2_XS, dot_iq2_xs_q8_k);
  set_q8(core::GgmlType::kIQ2_S, dot_iq2_s_q8_k);
  set_q8(core::GgmlType::kIQ3_XXS, dot_iq3_xxs_q8_k);
  set_q8(core::GgmlType::kIQ3_S, dot_iq3_s_q8_k);
  set_q8(core::GgmlType::kIQ1_S, dot_iq1_s_q8_k);
  set_q8(core::GgmlType::kIQ1_M, dot_iq1_m_q8_k);
}

}  // namespace onprem::kernels
