// Internal helpers for the AVX2 kernels. Included only by files compiled with -mavx2 -mfma -mf16c;
// everything is `static inline` so no symbol can leak into code built for another ISA.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/simd_poly.h"
#include "quant/blocks.h"

namespace onprem::kernels::avx2 {

// Decode reads each weight byte once. Left to the hardware prefetchers, the int8 kernels read
// only 5-6 GB/s per thread on a Xeon whose plain streaming loop reads 15 (kernels_bench matvec:
// they wait on memory, not on arithmetic); asking for the lines kPrefetchAhead bytes ahead of the
// block in hand doubled that. Every int8 kernel calls this once per weight block. Into L2
// (_MM_HINT_T1) 4,608 bytes ahead decoded the 35B-A3B-shaped Q8_0 file 7 % (AVX2) and 14 % or more
// (AVX-512) faster than into L1 1,152 bytes ahead, in alternating runs.
inline constexpr int64_t kPrefetchAhead = 4608;
template <int64_t kBlockBytes>
static inline void prefetch_ahead(const void* block) {
  const char* p = static_cast<const char*>(block) + kPrefetchAhead;
  for (int64_t o = 0; o < kBlockBytes; o += 64) _mm_prefetch(p + o, _MM_HINT_T1);
}

static inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// Word `lo` of v's low 128-bit half across that half, and word `hi` of its high half across that
// half: one vpshufb. The scales of the K-quants reach their codes this way, instead of one scalar
// load and broadcast each (those were a third of the Q6_K single dot's instructions).
template <int lo, int hi>
static inline __m256i spread_words(__m256i v) {
  static_assert(lo >= 0 && lo < 8 && hi >= 0 && hi < 8);
  constexpr char a = char(2 * lo), b = char(2 * lo + 1), c = char(2 * hi), d = char(2 * hi + 1);
  return _mm256_shuffle_epi8(v, _mm256_setr_epi8(a, b, a, b, a, b, a, b, a, b, a, b, a, b, a, b,  //
                                                 c, d, c, d, c, d, c, d, c, d, c, d, c, d, c, d));
}

// Eight int8 (the low 8 bytes of v) as floats.
static inline __m256 i8x8_to_f32(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)); }

// The float-vector operations of the code written once for a vector type (simd_poly.h and the
// f32-activation kernels below), eight lanes wide; simd_avx512.h has F32x16.
namespace {
struct F32x8 {
  using V = __m256;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float f) { return _mm256_set1_ps(f); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
  static V fma_codes16(__m128i codes, const float* x, V scale, V acc) {
    const V s = _mm256_fmadd_ps(i8x8_to_f32(_mm_srli_si128(codes, 8)), _mm256_loadu_ps(x + 8),
                                _mm256_mul_ps(i8x8_to_f32(codes), _mm256_loadu_ps(x)));
    return _mm256_fmadd_ps(s, scale, acc);
  }
  static V fma_codes32(__m256i codes, const float* x, V scale, V acc) {
    const __m128i lo = _mm256_castsi256_si128(codes), hi = _mm256_extracti128_si256(codes, 1);
    V s = _mm256_mul_ps(i8x8_to_f32(lo), _mm256_loadu_ps(x));
    s = _mm256_fmadd_ps(i8x8_to_f32(_mm_srli_si128(lo, 8)), _mm256_loadu_ps(x + 8), s);
    s = _mm256_fmadd_ps(i8x8_to_f32(hi), _mm256_loadu_ps(x + 16), s);
    s = _mm256_fmadd_ps(i8x8_to_f32(_mm_srli_si128(hi, 8)), _mm256_loadu_ps(x + 24), s);
    return _mm256_fmadd_ps(s, scale, acc);
  }
  static V fnmadd_sum32(const float* x, V scale, V acc) {
    const V sum = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8)),
                                _mm256_add_ps(_mm256_loadu_ps(x + 16), _mm256_loadu_ps(x + 24)));
    return _mm256_fnmadd_ps(sum, scale, acc);
  }
  static float reduce(V v) { return hsum(v); }
};
}  // namespace

// e^x to about 2 ulp (Cephes-style: x = n ln2 + r, polynomial for e^r). Inputs below -87.3
// give 0 and above 88.7 give +inf, like expf's overflow.
static inline __m256 exp_ps(__m256 x) {
  const __m256 hi = _mm256_set1_ps(88.7228f), lo = _mm256_set1_ps(-87.33654f);
  const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  const __m256 over = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 p = exp_reduced<F32x8>(exp_remainder<F32x8>(x, n));
  // 2^n: n in [-126, 128]; split to stay in the normal range at both ends.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  y = _mm256_andnot_ps(under, y);
  return _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), over);
}

// ln(x) for x > 0 (Cephes logf: mantissa in [sqrt(1/2), sqrt(2)), polynomial of degree 9).
static inline __m256 log_ps(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256i xi = _mm256_castps_si256(x);
  __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(xi, 23), _mm256_set1_epi32(126)));
  __m256 m = _mm256_castsi256_ps(
      _mm256_or_si256(_mm256_and_si256(xi, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x3F000000)));
  const __m256 small = _mm256_cmp_ps(m, _mm256_set1_ps(0.707106781186547524f), _CMP_LT_OQ);
  e = _mm256_sub_ps(e, _mm256_and_ps(one, small));
  m = _mm256_add_ps(_mm256_sub_ps(m, one), _mm256_and_ps(m, small));
  return log_reduced<F32x8>(m, e);
}

// Q4_0 codes of one block as signed bytes in value order (low nibbles first).
static inline __m256i q4_0_codes(const uint8_t* qs) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i m = _mm_set1_epi8(0x0F);
  const __m256i both = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m), _mm_and_si128(raw, m));
  return _mm256_sub_epi8(both, _mm256_set1_epi8(8));
}

// The four 32-byte code vectors (0..63, not yet re-centred) of one Q6_K half.
static inline void q6_codes(const uint8_t* L, const uint8_t* H, __m256i out[4]) {
  const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(L));
  const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(L + 32));
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(H));
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x30);
  out[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(h, 4), m2));
  out[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(h, 2), m2));
  out[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(h, m2));
  out[3] =
      _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(h, 2), m2));
}

// Codes (0..15, or 0..31 with the fifth bit) of Q4_K / Q5_K sub-block s = 2c + h, from the 32
// bytes `raw` of group c and, for Q5_K, the 32 bytes of high bits.
static inline __m256i qk45_codes(__m256i raw, int h, int s, bool five, __m256i qh) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  __m256i codes = h ? _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4) : _mm256_and_si256(raw, m4);
  if (five) {
    const __m256i bit = _mm256_set1_epi8(char(1 << s));
    codes = _mm256_or_si256(codes,
                            _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit), _mm256_set1_epi8(16)));
  }
  return codes;
}

// ---- quantised weights, f32 activations: written once for a float vector type ----
//
// F supplies the few float-vector operations these kernels need. AVX2 takes F32x8 above (eight
// lanes); AVX-512 takes F32x16 (sixteen, simd_avx512.h). Both live in anonymous namespaces, so each
// instantiation stays inside the file of its ISA (tests/isa/check_isa_objects.py).
//   F::V zero(); F::V set1(float);
//   F::V fma_codes32(__m256i codes, const float* x, F::V scale, F::V acc): acc + scale·Σ codes·x
//   F::V fma_codes16(__m128i codes, const float* x, F::V scale, F::V acc): the same over 16
//   F::V fnmadd_sum32(const float* x, F::V scale, F::V acc): acc − scale·Σ x over 32
//   float reduce(F::V)
namespace {

template <class F>
float dot_q8_0_f32(const void* w, const float* x, int64_t n) {
  const auto* b = static_cast<const quant::BlockQ8_0*>(w);
  typename F::V acc = F::zero();
  for (int64_t i = 0; i < n / 32; ++i, x += 32)
    acc = F::fma_codes32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs)), x, F::set1(_cvtsh_ss(b[i].d)),
                         acc);
  return F::reduce(acc);
}

template <class F>
float dot_q4_0_f32(const void* w, const float* x, int64_t n) {
  const auto* b = static_cast<const quant::BlockQ4_0*>(w);
  typename F::V acc = F::zero();
  for (int64_t i = 0; i < n / 32; ++i, x += 32)
    acc = F::fma_codes32(q4_0_codes(b[i].qs), x, F::set1(_cvtsh_ss(b[i].d)), acc);
  return F::reduce(acc);
}

// Q4_K / Q5_K: value = d·sc·code − dmin·m per 32-value sub-block.
template <class F, bool kFive>
float dot_qk45_f32(const void* w, const float* x, int64_t n) {
  using Block = std::conditional_t<kFive, quant::BlockQ5_K, quant::BlockQ4_K>;
  const auto* b = static_cast<const Block*>(w);
  typename F::V acc = F::zero();
  for (int64_t i = 0; i < n / 256; ++i) {
    const float d = _cvtsh_ss(b[i].d), dmin = _cvtsh_ss(b[i].dmin);
    __m256i qh = _mm256_setzero_si256();
    if constexpr (kFive) qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qh));
    for (int c = 0; c < 4; ++c) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs + 32 * c));
      for (int h = 0; h < 2; ++h) {
        const int s = 2 * c + h;
        uint8_t sc, m;
        quant::unpack_scale_min_k4(s, b[i].scales, &sc, &m);
        const float* xs = x + 256 * i + 32 * s;
        acc = F::fma_codes32(qk45_codes(raw, h, s, kFive, qh), xs, F::set1(d * sc), acc);
        acc = F::fnmadd_sum32(xs, F::set1(dmin * m), acc);
      }
    }
  }
  return F::reduce(acc);
}

template <class F>
float dot_q6_k_f32(const void* w, const float* x, int64_t n) {
  const auto* b = static_cast<const quant::BlockQ6_K*>(w);
  typename F::V acc = F::zero();
  for (int64_t i = 0; i < n / 256; ++i) {
    const float d = _cvtsh_ss(b[i].d);
    for (int hf = 0; hf < 2; ++hf) {
      __m256i codes[4];
      q6_codes(b[i].ql + 64 * hf, b[i].qh + 32 * hf, codes);
      const int8_t* S = b[i].scales + 8 * hf;
      for (int j = 0; j < 4; ++j) {  // 16 values per scale
        const __m256i c = _mm256_sub_epi8(codes[j], _mm256_set1_epi8(32));
        const float* xs = x + 256 * i + 128 * hf + 32 * j;
        acc = F::fma_codes16(_mm256_castsi256_si128(c), xs, F::set1(d * S[2 * j]), acc);
        acc = F::fma_codes16(_mm256_extracti128_si256(c, 1), xs + 16, F::set1(d * S[2 * j + 1]), acc);
      }
    }
  }
  return F::reduce(acc);
}

}  // namespace

// Σ over 32 lanes of u8 · s8 as 8 int32: the ISA's int8 dot primitive, passed to the kernels
// below. AVX2: maddubs sums pairs into int16, then madd quads into int32 (exact: one magnitude is
// at most 127, so a pair stays within int16). AVX-512 VNNI: vpdpbusd in one instruction.
static inline __m256i dot_u8s8_avx2(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Q8_0 / Q4_0 weights x Q8_0 activations for T rows: per 32-value block, the weight's magnitudes
// and signs are taken once and the activations' signs flipped per token (the unsigned x signed
// primitive needs one unsigned side). T tokens share each decoded block; a token's integer sums
// and float operations are the same for any T, so its result has the same bits.
template <int T, __m256i (*Codes)(const void* block), __m256i (*DotU8S8)(__m256i, __m256i)>
static inline void q32_q8_rows(const uint8_t* w, int64_t block_bytes, const quant::BlockQ8_0* const* xs, int64_t n,
                               float* out) {
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 32; ++i, w += block_bytes) {
    prefetch_ahead<64>(w);
    const __m256i a = Codes(w);
    const __m256i mag = _mm256_abs_epi8(a);
    uint16_t dh;
    std::memcpy(&dh, w, 2);  // both block types begin with their fp16 scale
    const float d = _cvtsh_ss(dh);
    for (int t = 0; t < T; ++t) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[t][i].qs));
      const __m256i p = DotU8S8(mag, _mm256_sign_epi8(x, a));
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(d * _cvtsh_ss(xs[t][i].d)), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) out[t] = hsum(acc[t]);
}
static inline __m256i q8_0_block_codes(const void* b) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const quant::BlockQ8_0*>(b)->qs));
}
static inline __m256i q4_0_block_codes(const void* b) {
  return q4_0_codes(static_cast<const quant::BlockQ4_0*>(b)->qs);
}

// Q6_K x Q8_K for T activation rows (T tokens share the decoded codes; T = 1 is the single dot),
// scales applied in int16 by madd (codes 0..63 times |x| <= 127 keeps maddubs's pairs exact).
template <int T>
static inline void q6k_q8_rows(const quant::BlockQ6_K* a, const quant::BlockQ8_K* const* xs, int64_t n, float* out) {
  float total[T] = {};
  for (int64_t i = 0; i < n / 256; ++i) {
    prefetch_ahead<sizeof(*a)>(a + i);
    // The 16 scales as words: S0-S7 in the low half, S8-S15 in the high half.
    const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a[i].scales)));
    __m256i isum[T];
    for (int t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
    auto half = [&](int hf, __m256i sh) {  // sh: this half's eight scales in both 128-bit halves
      __m256i codes[4];
      q6_codes(a[i].ql + 64 * hf, a[i].qh + 32 * hf, codes);
      // maddubs lanes 0-7 cover values 0-15 (scale S[2j]), lanes 8-15 values 16-31 (S[2j+1]).
      const __m256i sc[4] = {spread_words<0, 1>(sh), spread_words<2, 3>(sh), spread_words<4, 5>(sh),
                             spread_words<6, 7>(sh)};
      for (int j = 0; j < 4; ++j)
        for (int t = 0; t < T; ++t) {
          const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[t][i].qs + 128 * hf + 32 * j));
          isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(_mm256_maddubs_epi16(codes[j], x), sc[j]));
        }
    };
    half(0, _mm256_permute4x64_epi64(s16, 0x44));
    half(1, _mm256_permute4x64_epi64(s16, 0xEE));
    // The codes were not re-centred: subtract 32 · Σ_s scale_s · Σ x over sub-block s, lane by
    // lane before the one horizontal sum (integers, so the order does not change the sum).
    const float d = _cvtsh_ss(a[i].d);
    for (int t = 0; t < T; ++t) {
      const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[t][i].bsums));
      const __m256i X = _mm256_sub_epi32(isum[t], _mm256_slli_epi32(_mm256_madd_epi16(s16, bs), 5));
      total[t] += d * xs[t][i].d * float(hsum_i32(X));
    }
  }
  for (int t = 0; t < T; ++t) out[t] = total[t];
}

// Q4_K / Q5_K x Q8_K for T activation rows: Σ_s sc_s Σ code·x in int32 per super-block (maddubs
// pairs, then madd by the sub-block's scale), minus the minimums against the Q8_K block's per-16
// sums. The AVX-512 table uses it for Q5_K (as fast as vpdpbusd + vpmulld, the same bits).
template <bool kFive, int T>
static inline void qk45_q8_rows(const void* w, const quant::BlockQ8_K* const* xs, int64_t n, float* out) {
  using Block = std::conditional_t<kFive, quant::BlockQ5_K, quant::BlockQ4_K>;
  float total[T] = {};
  const auto* blocks = static_cast<const Block*>(w);
  for (int64_t i = 0; i < n / 256; ++i) {
    const Block& wb = blocks[i];
    prefetch_ahead<sizeof(Block)>(&wb);
    const uint16_t dh = wb.d, mh = wb.dmin;
    const quant::ScalesMinsK4 sm = quant::unpack_scales_mins_k4(wb.scales);
    const uint8_t* qs = wb.qs;
    // The eight scales as words in both halves, then each across a whole vector.
    const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(int64_t(sm.scales))));
    const __m256i spread[8] = {spread_words<0, 0>(sc16), spread_words<1, 1>(sc16), spread_words<2, 2>(sc16),
                               spread_words<3, 3>(sc16), spread_words<4, 4>(sc16), spread_words<5, 5>(sc16),
                               spread_words<6, 6>(sc16), spread_words<7, 7>(sc16)};
    __m256i qh = _mm256_setzero_si256();
    if constexpr (kFive) qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb.qh));
    __m256i isum[T];
    for (int t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
      for (int h = 0; h < 2; ++h) {
        const int s = 2 * c + h;
        const __m256i codes = qk45_codes(raw, h, s, kFive, qh);
        const __m256i sc = spread[s];
        for (int t = 0; t < T; ++t) {
          const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[t][i].qs + 32 * s));
          isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(_mm256_maddubs_epi16(codes, x), sc));
        }
      }
    }
    // Each minimum twice, against the 16 per-16 sums: m_s · (bsum_2s + bsum_2s+1) in one madd.
    const __m128i m8 = _mm_cvtsi64_si128(int64_t(sm.mins));
    const __m256i m16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
    const float d = _cvtsh_ss(dh), dmin = _cvtsh_ss(mh);
    for (int t = 0; t < T; ++t) {
      const quant::BlockQ8_K& b = xs[t][i];
      const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.bsums));
      const int32_t mins = hsum_i32(_mm256_madd_epi16(bs, m16));
      // Written as fmas so that the packed blocks of dot_avx2.cpp (gemm_q4_k) repeat it bit for bit.
      const float inner = std::fma(d, float(hsum_i32(isum[t])), -(dmin * float(mins)));
      total[t] = std::fma(b.d, inner, total[t]);
    }
  }
  for (int t = 0; t < T; ++t) out[t] = total[t];
}

// The single-token dot of a multi-token kernel: its T = 1 instance.
template <void (*Rows)(const void*, const void* const*, int64_t, float*)>
static inline float dot_one(const void* w, const void* xq, int64_t n) {
  float out;
  Rows(w, &xq, n, &out);
  return out;
}

}  // namespace onprem::kernels::avx2
