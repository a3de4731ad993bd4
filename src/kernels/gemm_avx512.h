// The AVX-512 prefill kernels over rows packed for them (packed_k.h): 16 rows per vector, four
// codes of each in its 32-bit lane. Shared by dot_avx512.cpp (rows packed from the file's layout
// per call) and dot_avx512_packed.cpp (rows unpacked from the groups repacked at load). Included
// only by files compiled with the AVX-512 flags; anonymous namespace (tests/isa).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/packed_k.h"
#include "quant/blocks.h"

namespace onprem::kernels {
namespace {

namespace q = quant;

// S[t] += Σ_s sc_s · Σ code·x over the kSub sub-blocks (kQuads quads each) of packed super-block
// i, for 16 rows: vpdpbusd over a sub-block's quads, then its scale applied in 32 bits (vpmulld).
template <int T, int kSub, int kQuads>
inline void add_scaled_sums(const Lanes<16>* codes, const Lanes<16>* scales, const q::BlockQ8_K* const* xs, int64_t i,
                            __m512i* S) {
  for (int s = 0; s < kSub; ++s) {
    __m512i D[T];
    for (int t = 0; t < T; ++t) D[t] = _mm512_setzero_si512();
    for (int q4 = 0; q4 < kQuads; ++q4) {
      const int qd = s * kQuads + q4;
      const __m512i c = codes[qd].i();
      for (int t = 0; t < T; ++t) {
        int32_t x4;
        std::memcpy(&x4, xs[t][i].qs + 4 * qd, 4);
        D[t] = _mm512_dpbusd_epi32(D[t], c, _mm512_set1_epi32(x4));
      }
    }
    const __m512i sc = scales[s].i();
    for (int t = 0; t < T; ++t) S[t] = _mm512_add_epi32(S[t], _mm512_mullo_epi32(D[t], sc));
  }
}

// Prefill: 16 rows packed once per call (packed_k.h), so that one vector holds four codes of
// each of 16 rows; vpdpbusd then adds code·x over four values for all 16 rows against one
// broadcast activation word. Per sub-block a row's integer sum is scaled in 32 bits (vpmulld) and
// added to S; the minimums' M comes from vpdpwssd over (m_2k, m_2k+1) pairs against the token's
// per-32 sums. The float steps are the single dot's, lane by lane: q4k_q8_rows's for Q4_K, or
// with kQk45Floats qk45_q8_rows's, the single dot of Q5_K (packed with its fifth bit in the codes).
template <int T, bool kQk45Floats = false>
void q4k_gemm_tokens(const PackedQ4K<16>& p, int64_t nb, const q::BlockQ8_K* const* xs, int n_rows, float* y,
                     int64_t ldy) {
  const __mmask16 rows = __mmask16((1u << n_rows) - 1);
  __m512 acc[T], macc[T];
  for (int t = 0; t < T; ++t) acc[t] = macc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    __m512i S[T];
    for (int t = 0; t < T; ++t) S[t] = _mm512_setzero_si512();
    add_scaled_sums<T, 8, 8>(&p.codes[size_t(i * 64)], &p.scales[size_t(i * 8)], xs, i, S);
    for (int t = 0; t < T; ++t) {
      const q::BlockQ8_K& b = xs[t][i];
      __m512i M = _mm512_setzero_si512();
      for (int k = 0; k < 4; ++k) {
        const int32_t lo = b.bsums[4 * k] + b.bsums[4 * k + 1], hi = b.bsums[4 * k + 2] + b.bsums[4 * k + 3];
        const __m512i pair = _mm512_set1_epi32(int32_t(uint32_t(uint16_t(lo)) | (uint32_t(uint16_t(hi)) << 16)));
        M = _mm512_dpwssd_epi32(M, p.mins[size_t(i * 4 + k)].i(), pair);
      }
      const __m512 xd = _mm512_set1_ps(b.d);
      if constexpr (kQk45Floats) {
        const __m512 inner = _mm512_fmsub_ps(p.d[size_t(i)].f(), _mm512_cvtepi32_ps(S[t]),
                                             _mm512_mul_ps(p.dmin[size_t(i)].f(), _mm512_cvtepi32_ps(M)));
        acc[t] = _mm512_fmadd_ps(xd, inner, acc[t]);
      } else {
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(S[t]), _mm512_mul_ps(p.d[size_t(i)].f(), xd), acc[t]);
        macc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(M), _mm512_mul_ps(p.dmin[size_t(i)].f(), xd), macc[t]);
      }
    }
  }
  for (int t = 0; t < T; ++t)
    _mm512_mask_storeu_ps(y + t * ldy, rows, kQk45Floats ? acc[t] : _mm512_sub_ps(acc[t], macc[t]));
}

// Prefill, codes stored with an offset (PackedQ6K): Q6_K (kSub 16 sub-blocks of 16, offset 2^5,
// the single dot's fma) and IQ4_XS (8 of 32, codebook values plus 2^7, iq4_xs_rows's
// total += (d · d_x) · X: the AVX2 table's single dot, on every AVX-512 machine). Per sub-block,
// vpdpbusd over its quads and the row's scale in 32 bits (vpmulld); the offset comes off with
// vpdpwssd over (sc_2k, sc_2k+1) pairs against the token's per-16 or per-32 sums. The exact
// integers and the float steps are the single dot's, lane by lane.
template <int T, int kSub, int kShift, bool kFma>
void offset_gemm_tokens(const PackedQ6K<16>& p, int64_t nb, const q::BlockQ8_K* const* xs, int n_rows, float* y,
                        int64_t ldy) {
  constexpr int kQuads = 64 / kSub, kPairs = kSub / 2;
  const __mmask16 rows = __mmask16((1u << n_rows) - 1);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    __m512i S[T];
    for (int t = 0; t < T; ++t) S[t] = _mm512_setzero_si512();
    add_scaled_sums<T, kSub, kQuads>(&p.codes[size_t(i * 64)], &p.scales[size_t(i * kSub)], xs, i, S);
    const __m512 d = p.d[size_t(i)].f();
    for (int t = 0; t < T; ++t) {
      const q::BlockQ8_K& b = xs[t][i];
      __m512i corr = _mm512_setzero_si512();
      for (int k = 0; k < kPairs; ++k) {
        const int32_t lo = kSub == 16 ? b.bsums[2 * k] : b.bsums[4 * k] + b.bsums[4 * k + 1];
        const int32_t hi = kSub == 16 ? b.bsums[2 * k + 1] : b.bsums[4 * k + 2] + b.bsums[4 * k + 3];
        corr = _mm512_dpwssd_epi32(corr, p.pairs[size_t(i * kPairs + k)].i(), _mm512_set1_epi32(pair16(lo, hi)));
      }
      const __m512 X = _mm512_cvtepi32_ps(_mm512_sub_epi32(S[t], _mm512_slli_epi32(corr, kShift)));
      if constexpr (kFma)
        acc[t] = _mm512_fmadd_ps(X, _mm512_mul_ps(d, _mm512_set1_ps(b.d)), acc[t]);
      else
        acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(_mm512_mul_ps(d, _mm512_set1_ps(b.d)), X));
    }
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy, rows, acc[t]);
}

constexpr int kGemmTokens = 4;  // tokens per call of the token kernels above

}  // namespace
}  // namespace onprem::kernels
