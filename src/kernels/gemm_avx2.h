// The AVX2 prefill kernels over rows packed for them (packed_k.h): 8 rows per vector, four codes
// of each in its 32-bit lane. Shared by dot_avx2.cpp (rows packed from the file's layout per call)
// and dot_avx2_packed.cpp (rows unpacked from the groups repacked at load). Included only by files
// compiled with the AVX2 flags; anonymous namespace (tests/isa).
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
// i, for 8 rows: two quads' vpmaddubsw pairs add up in 16 bits (at most 2·63·128·2 < 2^15), then
// one vpmaddwd by the row's scale takes them to 32.
template <int T, int kSub, int kQuads>
inline void add_scaled_sums(const Lanes<8>* codes, const Lanes<8>* scales, const q::BlockQ8_K* const* xs, int64_t i,
                            __m256i* S) {
  for (int s = 0; s < kSub; ++s) {
    const __m256i sc = scales[s].i();
    for (int h = 0; h < kQuads / 2; ++h) {
      const int qd = s * kQuads + 2 * h;
      const __m256i c0 = codes[qd].i(), c1 = codes[qd + 1].i();
      for (int t = 0; t < T; ++t) {
        int32_t x0, x1;
        std::memcpy(&x0, xs[t][i].qs + 4 * qd, 4);
        std::memcpy(&x1, xs[t][i].qs + 4 * qd + 4, 4);
        const __m256i a = _mm256_add_epi16(_mm256_maddubs_epi16(c0, _mm256_set1_epi32(x0)),
                                           _mm256_maddubs_epi16(c1, _mm256_set1_epi32(x1)));
        S[t] = _mm256_add_epi32(S[t], _mm256_madd_epi16(a, sc));
      }
    }
  }
}

// Prefill, Q4_K and Q5_K: blocks of 8 rows packed once per call (packed_k.h). Per four values, vpmaddubsw
// against one broadcast activation word gives code·x pairs for all 8 rows; two quads' pairs add up
// in 16 bits and one vpmaddwd by the row's scale takes them to 32 (summing more quads in 16 bits
// first was slower: one longer chain). The minimums' sum comes from vpmaddwd over (m_2k, m_2k+1)
// pairs against the token's per-32 sums. The exact integers and the float steps are
// qk45_q8_rows's, lane by lane, so every result keeps the single dot's bits.
template <int T>
void q4k8_gemm_tokens(const PackedQ4K<8>& p, int64_t nb, const q::BlockQ8_K* const* xs, int n_rows, float* y,
                      int64_t ldy) {
  __m256 total[T];
  for (int t = 0; t < T; ++t) total[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    __m256i S[T];
    for (int t = 0; t < T; ++t) S[t] = _mm256_setzero_si256();
    add_scaled_sums<T, 8, 8>(&p.codes[size_t(i * 64)], &p.scales[size_t(i * 8)], xs, i, S);
    for (int t = 0; t < T; ++t) {
      const q::BlockQ8_K& b = xs[t][i];
      __m256i M = _mm256_setzero_si256();
      for (int k = 0; k < 4; ++k) {
        const int32_t lo = b.bsums[4 * k] + b.bsums[4 * k + 1], hi = b.bsums[4 * k + 2] + b.bsums[4 * k + 3];
        const __m256i pair = _mm256_set1_epi32(int32_t(uint32_t(uint16_t(lo)) | (uint32_t(uint16_t(hi)) << 16)));
        M = _mm256_add_epi32(M, _mm256_madd_epi16(p.mins[size_t(i * 4 + k)].i(), pair));
      }
      const __m256 inner = _mm256_fmsub_ps(p.d[size_t(i)].f(), _mm256_cvtepi32_ps(S[t]),
                                           _mm256_mul_ps(p.dmin[size_t(i)].f(), _mm256_cvtepi32_ps(M)));
      total[t] = _mm256_fmadd_ps(_mm256_set1_ps(b.d), inner, total[t]);
    }
  }
  for (int t = 0; t < T; ++t) {
    alignas(32) float out[8];
    _mm256_store_ps(out, total[t]);
    std::memcpy(y + t * ldy, out, sizeof(float) * size_t(n_rows));
  }
}

constexpr int kGemmTokens = 4;

// Prefill, Q6_K: blocks of 8 rows packed (packed_k.h), four 6-bit codes (0..63, not re-centred)
// of each row per 32-bit lane, per 16-value sub-block, summed by add_scaled_sums. The exact
// integers S − 32·Σ_s sc_s·bsum_s and the float steps are q6k_q8_rows's, lane by lane. Q3_K
// (kOffsetShift 2: codes 0..7 less 4) has the same integers and float steps in q3_k_rows.
template <int T, int kOffsetShift = 5>
void q6k8_gemm_tokens(const PackedQ6K<8>& p, int64_t nb, const q::BlockQ8_K* const* xs, int n_rows, float* y,
                      int64_t ldy) {
  __m256 total[T];
  for (int t = 0; t < T; ++t) total[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    __m256i S[T];
    for (int t = 0; t < T; ++t) S[t] = _mm256_setzero_si256();
    add_scaled_sums<T, 16, 4>(&p.codes[size_t(i * 64)], &p.scales[size_t(i * 16)], xs, i, S);
    const __m256 d = p.d[size_t(i)].f();
    for (int t = 0; t < T; ++t) {
      const q::BlockQ8_K& b = xs[t][i];
      __m256i corr = _mm256_setzero_si256();
      for (int k = 0; k < 8; ++k) {
        const uint32_t pair = uint32_t(uint16_t(b.bsums[2 * k])) | (uint32_t(uint16_t(b.bsums[2 * k + 1])) << 16);
        corr =
            _mm256_add_epi32(corr, _mm256_madd_epi16(p.pairs[size_t(i * 8 + k)].i(), _mm256_set1_epi32(int32_t(pair))));
      }
      const __m256i X = _mm256_sub_epi32(S[t], _mm256_slli_epi32(corr, kOffsetShift));
      total[t] = _mm256_add_ps(total[t], _mm256_mul_ps(_mm256_mul_ps(d, _mm256_set1_ps(b.d)), _mm256_cvtepi32_ps(X)));
    }
  }
  for (int t = 0; t < T; ++t) {
    alignas(32) float out[8];
    _mm256_store_ps(out, total[t]);
    std::memcpy(y + t * ldy, out, sizeof(float) * size_t(n_rows));
  }
}

}  // namespace
}  // namespace onprem::kernels
