// AVX-512 kernels on weights repacked at load (kernels/packed_rows.h): groups of 16 rows, one
// 32-bit lane per row, so that vpdpbusd adds four code·x products for all 16 rows against one
// broadcast activation word, and each row's scale is applied in its own lane. Same flags and
// rules as dot_avx512.cpp.
#include <cstring>
#include <vector>

#include "kernels/gemm_avx512.h"
#include "kernels/packed_rows.h"
#include "kernels/variants.h"
#include "quant/blocks.h"

#include <immintrin.h>

namespace onprem::kernels {

namespace {

inline __m512i widen16(const uint8_t* p) {  // 16 bytes to 16 lanes
  return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m512i word_of(const int8_t* p) {  // four activation bytes, broadcast
  int32_t w;
  std::memcpy(&w, p, 4);
  return _mm512_set1_epi32(w);
}

// How far ahead of the block in use the kernels ask for lines, into L2 (_MM_HINT_T1): a group is
// one sequential stream. On AVX-512, 4,608 bytes into L2 decoded the 27B-shaped file 12-15 % faster
// than 1,152 into L1 (2,304 to 6,912 were alike); on AVX2, whose kernels compute slower, alike.
constexpr int64_t kPrefetchBytes = 4608;

// Sub-blocks 2c and 2c + 1 of a Q4_K / Q5_K super-block at b (group layout G): their scales, and
// their minimums as one 16-bit pair (for vpdpwssd against the pair of per-32 sums), a lane per row.
struct Qk45Scales {
  __m512i sc0, sc1, mpair;
};
template <class G>
inline Qk45Scales qk45_scales(const uint8_t* b, int c) {
  const __m512i m15 = _mm512_set1_epi32(15), m3 = _mm512_set1_epi32(3);
  const __m512i l0 = widen16(b + G::kLow + 16 * (2 * c)), l1 = widen16(b + G::kLow + 16 * (2 * c + 1));
  const __m512i h = widen16(b + G::kHigh + 16 * c);
  const __m512i mn0 =
      _mm512_or_si512(_mm512_srli_epi32(l0, 4), _mm512_slli_epi32(_mm512_and_si512(h, _mm512_set1_epi32(12)), 2));
  const __m512i mn1 = _mm512_or_si512(_mm512_srli_epi32(l1, 4), _mm512_slli_epi32(_mm512_srli_epi32(h, 6), 4));
  return {
      _mm512_or_si512(_mm512_and_si512(l0, m15), _mm512_slli_epi32(_mm512_and_si512(h, m3), 4)),
      _mm512_or_si512(_mm512_and_si512(l1, m15), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(h, 4), m3), 4)),
      _mm512_or_si512(mn0, _mm512_slli_epi32(mn1, 16))};
}

// The fifth bits of a Q5_K group's codes: bit s of each qh byte, as 16 (0 or 16 per byte).
inline __m512i fifth(__m512i qh, int s) {
  return _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(qh, _mm512_set1_epi8(char(1 << s))), _mm512_set1_epi8(16));
}

// Q4_K (or with kFive Q5_K) x Q8_K, T tokens. Per super-block the exact integers of the single
// dot (dot_avx512.cpp): S = Σ_s sc_s · Σ code·x and M = Σ_s m_s · Σ x, then per row that dot's
// float steps: for Q4_K acc = fma(S, d·xd, acc) and macc = fma(M, dmin·xd, macc), for Q5_K
// (qk45_q8_rows) acc = fma(xd, d·S − dmin·M, acc). So every result has the single dot's bits.
template <int T, bool kFive = false>
void q4k_group_tokens(const uint8_t* g, int64_t nb, const q::BlockQ8_K* const* xs, float* y, int64_t ldy) {
  using G = Q4kGroup<16, kFive>;
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  __m512 acc[T], macc[T];
  for (int t = 0; t < T; ++t) acc[t] = macc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = g + i * G::kBlockBytes;
    const char* ahead = reinterpret_cast<const char*>(b) + kPrefetchBytes;
    for (int64_t o = 0; o < G::kCodes; o += 64) _mm_prefetch(ahead + o, _MM_HINT_T1);
    __m512i S[T], M[T];
    for (int t = 0; t < T; ++t) S[t] = M[t] = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      const Qk45Scales q = qk45_scales<G>(b, c);
      __m512i D0[T], D1[T];
      for (int t = 0; t < T; ++t) D0[t] = D1[t] = _mm512_setzero_si512();
      for (int qd = 0; qd < 8; ++qd) {
        _mm_prefetch(ahead + G::kCodes + 64 * (8 * c + qd), _MM_HINT_T1);
        const __m512i raw = _mm512_loadu_si512(b + G::kCodes + 64 * (8 * c + qd));
        __m512i lo = _mm512_and_si512(raw, m4), hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
        if constexpr (kFive) {
          const __m512i qh = _mm512_loadu_si512(b + G::kQh + 64 * qd);
          lo = _mm512_or_si512(lo, fifth(qh, 2 * c)), hi = _mm512_or_si512(hi, fifth(qh, 2 * c + 1));
        }
        for (int t = 0; t < T; ++t) {
          const int8_t* x = xs[t][i].qs + 64 * c + 4 * qd;
          D0[t] = _mm512_dpbusd_epi32(D0[t], lo, word_of(x));
          D1[t] = _mm512_dpbusd_epi32(D1[t], hi, word_of(x + 32));
        }
      }
      for (int t = 0; t < T; ++t) {
        S[t] = _mm512_add_epi32(S[t],
                                _mm512_add_epi32(_mm512_mullo_epi32(D0[t], q.sc0), _mm512_mullo_epi32(D1[t], q.sc1)));
        const int16_t* bs = xs[t][i].bsums + 4 * c;
        const int32_t s0 = bs[0] + bs[1], s1 = bs[2] + bs[3];
        M[t] = _mm512_dpwssd_epi32(M[t], q.mpair,
                                   _mm512_set1_epi32(int32_t(uint32_t(uint16_t(s0)) | uint32_t(uint16_t(s1)) << 16)));
      }
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kD)));
    const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kDmin)));
    for (int t = 0; t < T; ++t) {
      const __m512 xd = _mm512_set1_ps(xs[t][i].d);
      if constexpr (kFive) {
        const __m512 inner =
            _mm512_fmsub_ps(d, _mm512_cvtepi32_ps(S[t]), _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(M[t])));
        acc[t] = _mm512_fmadd_ps(xd, inner, acc[t]);
      } else {
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(S[t]), _mm512_mul_ps(d, xd), acc[t]);
        macc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(M[t]), _mm512_mul_ps(dmin, xd), macc[t]);
      }
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * ldy, kFive ? acc[t] : _mm512_sub_ps(acc[t], macc[t]));
}

// Q6_K x Q8_K, T tokens: per super-block the single dot's exact X = Σ_s sc_s · (Σ code·x − 32 · Σ x)
// (dot_avx512.cpp), then acc = fma(X, d·xd, acc) per row. A pass over (h, qg) covers the four
// sub-blocks 8h + qg + {0, 2, 4, 6}, each four quads long.
template <int T>
void q6k_group_tokens(const uint8_t* g, int64_t nb, const q::BlockQ8_K* const* xs, float* y, int64_t ldy) {
  using G = Q6kGroup<16>;
  const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = g + i * G::kBlockBytes;
    const char* ahead = reinterpret_cast<const char*>(b) + kPrefetchBytes;
    for (int64_t o = 0; o < G::kLow; o += 64) _mm_prefetch(ahead + o, _MM_HINT_T1);
    __m512i S[T], M[T];
    for (int t = 0; t < T; ++t) S[t] = M[t] = _mm512_setzero_si512();
    for (int h = 0; h < 2; ++h) {
      // The pairs (sc_2k, sc_2k+1) for k = 4h + m: the offset's vpdpwssd, and each scale on its own.
      __m512i pair[4];
      for (int m = 0; m < 4; ++m)
        pair[m] = _mm512_cvtepi8_epi16(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kScales + 32 * (4 * h + m))));
      for (int t = 0; t < T; ++t)
        for (int m = 0; m < 4; ++m) {
          const int16_t* bs = xs[t][i].bsums + 2 * (4 * h + m);
          M[t] = _mm512_dpwssd_epi32(
              M[t], pair[m], _mm512_set1_epi32(int32_t(uint32_t(uint16_t(bs[0])) | uint32_t(uint16_t(bs[1])) << 16)));
        }
      for (int qg = 0; qg < 2; ++qg) {
        // D[m]: sub-block 8h + qg + 2m (m = 0, 1: the low nibbles of j = m; 2, 3: the high ones).
        __m512i D[4][T];
        for (int m = 0; m < 4; ++m)
          for (int t = 0; t < T; ++t) D[m][t] = _mm512_setzero_si512();
        for (int q4 = 0; q4 < 4; ++q4) {
          const int qd = 4 * qg + q4;
          _mm_prefetch(ahead + G::kLow + 64 * (16 * h + qd), _MM_HINT_T1);
          _mm_prefetch(ahead + G::kLow + 64 * (16 * h + 8 + qd), _MM_HINT_T1);
          _mm_prefetch(ahead + G::kHigh + 64 * (8 * h + qd), _MM_HINT_T1);
          const __m512i hb = _mm512_loadu_si512(b + G::kHigh + 64 * (8 * h + qd));
          // The four 2-bit fields of qh, each moved to bits 4-5 of its byte.
          const __m512i f[4] = {_mm512_and_si512(_mm512_slli_epi16(hb, 4), m30),
                                _mm512_and_si512(_mm512_slli_epi16(hb, 2), m30), _mm512_and_si512(hb, m30),
                                _mm512_and_si512(_mm512_srli_epi16(hb, 2), m30)};
          __m512i codes[4];
          for (int j = 0; j < 2; ++j) {
            const __m512i raw = _mm512_loadu_si512(b + G::kLow + 64 * (16 * h + 8 * j + qd));
            codes[j] = _mm512_or_si512(_mm512_and_si512(raw, m4), f[j]);
            codes[2 + j] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(raw, 4), m4), f[2 + j]);
          }
          for (int m = 0; m < 4; ++m)
            for (int t = 0; t < T; ++t)
              D[m][t] = _mm512_dpbusd_epi32(D[m][t], codes[m], word_of(xs[t][i].qs + 128 * h + 32 * m + 4 * qd));
        }
        for (int m = 0; m < 4; ++m) {
          const __m512i sc =
              qg ? _mm512_srai_epi32(pair[m], 16) : _mm512_srai_epi32(_mm512_slli_epi32(pair[m], 16), 16);
          for (int t = 0; t < T; ++t) S[t] = _mm512_add_epi32(S[t], _mm512_mullo_epi32(D[m][t], sc));
        }
      }
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kD)));
    for (int t = 0; t < T; ++t) {
      const __m512i X = _mm512_sub_epi32(S[t], _mm512_slli_epi32(M[t], 5));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(X), _mm512_mul_ps(d, _mm512_set1_ps(xs[t][i].d)), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

// Q8_0 x Q8_0, T tokens: the single dot's float steps (q32_q8_rows, with vpdpbusd): per block and
// quad q the exact D = Σ code·x, then acc_q = fma(D, d·xd, acc_q), and at the end hsum's order over
// the eight quads. The codes are stored plus 128, so D starts at −128 · Σ x over the quad. This
// kernel serves prompts too: the prefill kernel of the file's layout (q32_gemm_tokens) does the
// same work per token after packing the rows into this form.
template <int T>
void q8_0_group_tokens(const uint8_t* g, int64_t nb, const q::BlockQ8_0* const* xs, float* y, int64_t ldy) {
  using G = Q8Group<16>;
  const __m256i ones = _mm256_set1_epi8(1);
  __m512 acc[T][8];
  for (int t = 0; t < T; ++t)
    for (int q4 = 0; q4 < 8; ++q4) acc[t][q4] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = g + i * G::kBlockBytes;
    const char* ahead = reinterpret_cast<const char*>(b) + kPrefetchBytes;
    for (int64_t o = 0; o < G::kBlockBytes; o += 64) _mm_prefetch(ahead + o, _MM_HINT_T1);
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kD)));
    for (int t = 0; t < T; ++t) {
      const q::BlockQ8_0& x = xs[t][i];
      const __m256i sums =
          _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs)));
      alignas(32) int32_t start[8];  // −128 · Σ x per quad
      _mm256_store_si256(reinterpret_cast<__m256i*>(start),
                         _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sums, 7)));
      const __m512 dd = _mm512_mul_ps(d, _mm512_set1_ps(_cvtsh_ss(x.d)));
      for (int q4 = 0; q4 < 8; ++q4) {
        const __m512i D = _mm512_dpbusd_epi32(_mm512_set1_epi32(start[q4]), _mm512_loadu_si512(b + G::kCodes + 64 * q4),
                                              word_of(x.qs + 4 * q4));
        acc[t][q4] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(D), dd, acc[t][q4]);
      }
    }
  }
  for (int t = 0; t < T; ++t) {  // hsum's order over the eight quads
    const __m512 lo = _mm512_add_ps(_mm512_add_ps(acc[t][0], acc[t][4]), _mm512_add_ps(acc[t][2], acc[t][6]));
    const __m512 hi = _mm512_add_ps(_mm512_add_ps(acc[t][1], acc[t][5]), _mm512_add_ps(acc[t][3], acc[t][7]));
    _mm512_storeu_ps(y + t * ldy, _mm512_add_ps(lo, hi));
  }
}

// Kernels::packed_product for Q8_0: pairs of tokens (16 accumulators of 32), then one.
void q8_0_group_product(const uint8_t* group, const uint8_t* xq, int64_t xq_bytes, int64_t n_tokens, int64_t n,
                        float* y, int64_t ldy) {
  const int64_t nb = n / 32;
  const q::BlockQ8_0* xs[2];
  auto x = [&](int64_t t) { return reinterpret_cast<const q::BlockQ8_0*>(xq + t * xq_bytes); };
  int64_t t = 0;
  for (; t + 2 <= n_tokens; t += 2) {
    xs[0] = x(t), xs[1] = x(t + 1);
    q8_0_group_tokens<2>(group, nb, xs, y + t * ldy, ldy);
  }
  for (; t < n_tokens; ++t) {
    xs[0] = x(t);
    q8_0_group_tokens<1>(group, nb, xs, y + t * ldy, ldy);
  }
}

// IQ4_XS: the scales of sub-block s (signed, 6 bits less 32), a lane per row.
inline __m512i iq4xs_scales(const uint8_t* b, int s) {
  using G = Iq4xsGroup<16>;
  const __m512i low =
      _mm512_and_si512(_mm512_srli_epi32(widen16(b + G::kLow + 16 * (s / 2)), 4 * (s % 2)), _mm512_set1_epi32(15));
  const __m512i high = _mm512_and_si512(
      _mm512_srli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kHigh))),
                        2 * s),
      _mm512_set1_epi32(3));
  return _mm512_sub_epi32(_mm512_or_si512(low, _mm512_slli_epi32(high, 4)), _mm512_set1_epi32(32));
}
// The codebook plus 128 (unsigned for vpdpbusd), in each 128-bit lane for vpshufb.
inline __m512i iq4_levels_plus_128() {
  return _mm512_broadcast_i32x4(
      _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q::kIq4Levels)), _mm_set1_epi8(char(0x80))));
}

// IQ4_XS x Q8_K, T tokens: offset_gemm_tokens's integers and float steps (the single dot of this
// table): X = Σ_s sc_s · Σ (level + 128)·x − 128 · Σ_s sc_s · Σ x, then acc += (d·xd)·X per row.
template <int T>
void iq4xs_group_tokens(const uint8_t* g, int64_t nb, const q::BlockQ8_K* const* xs, float* y, int64_t ldy) {
  using G = Iq4xsGroup<16>;
  const __m512i m4 = _mm512_set1_epi8(0x0F), lut = iq4_levels_plus_128();
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = g + i * G::kBlockBytes;
    const char* ahead = reinterpret_cast<const char*>(b) + kPrefetchBytes;
    for (int64_t o = 0; o < G::kCodes; o += 64) _mm_prefetch(ahead + o, _MM_HINT_T1);
    __m512i S[T], corr[T];
    for (int t = 0; t < T; ++t) S[t] = corr[t] = _mm512_setzero_si512();
    __m512i sc_even = _mm512_setzero_si512();
    for (int s = 0; s < 8; ++s) {
      const __m512i sc = iq4xs_scales(b, s);
      __m512i D[T];
      for (int t = 0; t < T; ++t) D[t] = _mm512_setzero_si512();
      for (int qd = 0; qd < 4; ++qd) {
        _mm_prefetch(ahead + G::kCodes + 64 * (4 * s + qd), _MM_HINT_T1);
        const __m512i raw = _mm512_loadu_si512(b + G::kCodes + 64 * (4 * s + qd));
        const __m512i lo = _mm512_shuffle_epi8(lut, _mm512_and_si512(raw, m4));
        const __m512i hi = _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4));
        for (int t = 0; t < T; ++t) {
          const int8_t* x = xs[t][i].qs + 32 * s + 4 * qd;
          D[t] = _mm512_dpbusd_epi32(D[t], lo, word_of(x));
          D[t] = _mm512_dpbusd_epi32(D[t], hi, word_of(x + 16));
        }
      }
      for (int t = 0; t < T; ++t) S[t] = _mm512_add_epi32(S[t], _mm512_mullo_epi32(D[t], sc));
      if (s % 2 == 0) {
        sc_even = sc;
        continue;
      }
      // The pair (sc_2k, sc_2k+1) against the pair of per-32 sums.
      const __m512i pair =
          _mm512_or_si512(_mm512_and_si512(sc_even, _mm512_set1_epi32(0xFFFF)), _mm512_slli_epi32(sc, 16));
      for (int t = 0; t < T; ++t) {
        const int16_t* bs = xs[t][i].bsums + 2 * (s - 1);
        const int32_t lo = bs[0] + bs[1], hi = bs[2] + bs[3];
        corr[t] = _mm512_dpwssd_epi32(
            corr[t], pair, _mm512_set1_epi32(int32_t(uint32_t(uint16_t(lo)) | uint32_t(uint16_t(hi)) << 16)));
      }
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kD)));
    for (int t = 0; t < T; ++t) {
      const __m512 X = _mm512_cvtepi32_ps(_mm512_sub_epi32(S[t], _mm512_slli_epi32(corr[t], 7)));
      acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(_mm512_mul_ps(d, _mm512_set1_ps(xs[t][i].d)), X));
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

// Prefill: from kGemmMinTokens tokens on, a group is unpacked into the prefill kernels' form (one
// code per byte, scales in 32-bit lanes: packed_k.h) and multiplied there, as rows from the file
// are; the group kernels above would decode nibbles and scales again for every few tokens. At 16
// tokens the unpacked form was already as fast for Q4_K and 1.2x faster for Q6_K.

template <bool kFive>
void unpack_qk45(const uint8_t* g, int64_t nb, PackedQ4K<16>* p) {
  using G = Q4kGroup<16, kFive>;
  prepare<PackedQ4K<16>, 16>(p, nb, 64, 8, 16);
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = g + i * G::kBlockBytes;
    for (int c = 0; c < 4; ++c) {
      const Qk45Scales q = qk45_scales<G>(b, c);
      _mm512_store_si512(p->scales[size_t(i * 8 + 2 * c)].v, q.sc0);
      _mm512_store_si512(p->scales[size_t(i * 8 + 2 * c + 1)].v, q.sc1);
      _mm512_store_si512(p->mins[size_t(i * 4 + c)].v, q.mpair);
      for (int qd = 0; qd < 8; ++qd) {
        const __m512i raw = _mm512_loadu_si512(b + G::kCodes + 64 * (8 * c + qd));
        __m512i lo = _mm512_and_si512(raw, m4), hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
        if constexpr (kFive) {
          const __m512i qh = _mm512_loadu_si512(b + G::kQh + 64 * qd);
          lo = _mm512_or_si512(lo, fifth(qh, 2 * c)), hi = _mm512_or_si512(hi, fifth(qh, 2 * c + 1));
        }
        _mm512_store_si512(p->codes[size_t(i * 64 + 8 * (2 * c) + qd)].v, lo);
        _mm512_store_si512(p->codes[size_t(i * 64 + 8 * (2 * c + 1) + qd)].v, hi);
      }
    }
    _mm512_store_ps(p->d[size_t(i)].v,
                    _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kD))));
    _mm512_store_ps(p->dmin[size_t(i)].v,
                    _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kDmin))));
  }
}

void unpack_q6k(const uint8_t* g, int64_t nb, PackedQ6K<16>* p) {
  using G = Q6kGroup<16>;
  prepare<PackedQ6K<16>, 16>(p, nb, 64, 16, 16);
  const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = g + i * G::kBlockBytes;
    for (int k = 0; k < 8; ++k) {
      const __m512i pair =
          _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kScales + 32 * k)));
      _mm512_store_si512(p->pairs[size_t(i * 8 + k)].v, pair);
      _mm512_store_si512(p->scales[size_t(i * 16 + 2 * k)].v, _mm512_srai_epi32(_mm512_slli_epi32(pair, 16), 16));
      _mm512_store_si512(p->scales[size_t(i * 16 + 2 * k + 1)].v, _mm512_srai_epi32(pair, 16));
    }
    for (int h = 0; h < 2; ++h)
      for (int qd = 0; qd < 8; ++qd) {
        const __m512i hb = _mm512_loadu_si512(b + G::kHigh + 64 * (8 * h + qd));
        const __m512i f[4] = {_mm512_and_si512(_mm512_slli_epi16(hb, 4), m30),
                              _mm512_and_si512(_mm512_slli_epi16(hb, 2), m30), _mm512_and_si512(hb, m30),
                              _mm512_and_si512(_mm512_srli_epi16(hb, 2), m30)};
        for (int j = 0; j < 2; ++j) {
          const __m512i raw = _mm512_loadu_si512(b + G::kLow + 64 * (16 * h + 8 * j + qd));
          _mm512_store_si512(p->codes[size_t(i * 64 + 32 * h + 8 * j + qd)].v,
                             _mm512_or_si512(_mm512_and_si512(raw, m4), f[j]));
          _mm512_store_si512(p->codes[size_t(i * 64 + 32 * h + 8 * (2 + j) + qd)].v,
                             _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(raw, 4), m4), f[2 + j]));
        }
      }
    _mm512_store_ps(p->d[size_t(i)].v,
                    _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kD))));
  }
}

void unpack_iq4xs(const uint8_t* g, int64_t nb, PackedQ6K<16>* p) {
  using G = Iq4xsGroup<16>;
  prepare<PackedQ6K<16>, 16>(p, nb, 64, 8, 16);
  const __m512i m4 = _mm512_set1_epi8(0x0F), lut = iq4_levels_plus_128();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = g + i * G::kBlockBytes;
    __m512i sc[8];
    for (int s = 0; s < 8; ++s) {
      sc[s] = iq4xs_scales(b, s);
      _mm512_store_si512(p->scales[size_t(i * 8 + s)].v, sc[s]);
    }
    for (int k = 0; k < 4; ++k)
      _mm512_store_si512(p->pairs[size_t(i * 4 + k)].v,
                         _mm512_or_si512(_mm512_and_si512(sc[2 * k], _mm512_set1_epi32(0xFFFF)),
                                         _mm512_slli_epi32(sc[2 * k + 1], 16)));
    // Packed codes: [sub-block][quad of 8]: quads 0-3 the low nibbles, 4-7 the high ones.
    for (int s = 0; s < 8; ++s)
      for (int qd = 0; qd < 4; ++qd) {
        const __m512i raw = _mm512_loadu_si512(b + G::kCodes + 64 * (4 * s + qd));
        _mm512_store_si512(p->codes[size_t(i * 64 + 8 * s + qd)].v,
                           _mm512_shuffle_epi8(lut, _mm512_and_si512(raw, m4)));
        _mm512_store_si512(p->codes[size_t(i * 64 + 8 * s + 4 + qd)].v,
                           _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4)));
      }
    _mm512_store_ps(p->d[size_t(i)].v,
                    _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kD))));
  }
}

// Kernels::packed_product from a group kernel K (groups of kTokens tokens, then pairs, then one)
// and, for prompts, an unpacker and the prefill token kernels.
template <template <int> class K, int kTokens, class Packed, void (*Unpack)(const uint8_t*, int64_t, Packed*),
          auto Gemm, auto GemmOne>
void group_product(const uint8_t* group, const uint8_t* xq, int64_t xq_bytes, int64_t n_tokens, int64_t n, float* y,
                   int64_t ldy) {
  const int64_t nb = n / 256;
  int64_t t = 0;
  if (n_tokens >= kGemmMinTokens) {
    thread_local Packed packed;
    Unpack(group, nb, &packed);
    const q::BlockQ8_K* xs[kGemmTokens];
    for (; t + kGemmTokens <= n_tokens; t += kGemmTokens) {
      for (int j = 0; j < kGemmTokens; ++j) xs[j] = reinterpret_cast<const q::BlockQ8_K*>(xq + (t + j) * xq_bytes);
      Gemm(packed, nb, xs, 16, y + t * ldy, ldy);
    }
    for (; t < n_tokens; ++t) {
      xs[0] = reinterpret_cast<const q::BlockQ8_K*>(xq + t * xq_bytes);
      GemmOne(packed, nb, xs, 16, y + t * ldy, ldy);
    }
    return;
  }
  auto run = [&]<int T>(int64_t t0) {
    const q::BlockQ8_K* xs[T];
    for (int j = 0; j < T; ++j) xs[j] = reinterpret_cast<const q::BlockQ8_K*>(xq + (t0 + j) * xq_bytes);
    K<T>::run(group, nb, xs, y + t0 * ldy, ldy);
  };
  for (; t + kTokens <= n_tokens; t += kTokens) run.template operator()<kTokens>(t);
  for (; t + 2 <= n_tokens; t += 2) run.template operator()<2>(t);
  for (; t < n_tokens; ++t) run.template operator()<1>(t);
}
template <int T>
struct Q4k {
  static void run(const uint8_t* g, int64_t nb, const q::BlockQ8_K* const* xs, float* y, int64_t ldy) {
    q4k_group_tokens<T>(g, nb, xs, y, ldy);
  }
};
template <int T>
struct Iq4xs {
  static void run(const uint8_t* g, int64_t nb, const q::BlockQ8_K* const* xs, float* y, int64_t ldy) {
    iq4xs_group_tokens<T>(g, nb, xs, y, ldy);
  }
};
template <int T>
struct Q5k {
  static void run(const uint8_t* g, int64_t nb, const q::BlockQ8_K* const* xs, float* y, int64_t ldy) {
    q4k_group_tokens<T, true>(g, nb, xs, y, ldy);
  }
};
template <int T>
struct Q6k {
  static void run(const uint8_t* g, int64_t nb, const q::BlockQ8_K* const* xs, float* y, int64_t ldy) {
    q6k_group_tokens<T>(g, nb, xs, y, ldy);
  }
};

}  // namespace

void fill_avx512_packed(Kernels& k) {
  TypeKernels& q4k = k.types[static_cast<uint32_t>(core::GgmlType::kQ4_K)];
  q4k.packed_rows = 16, q4k.pack_rows = pack_q4k_x16,
  q4k.packed_product =
      group_product<Q4k, 4, PackedQ4K<16>, unpack_qk45<false>, q4k_gemm_tokens<kGemmTokens>, q4k_gemm_tokens<1>>;
  TypeKernels& q5k = k.types[static_cast<uint32_t>(core::GgmlType::kQ5_K)];
  q5k.packed_rows = 16, q5k.pack_rows = pack_q5k_x16;
  q5k.packed_product = group_product<Q5k, 4, PackedQ4K<16>, unpack_qk45<true>, q4k_gemm_tokens<kGemmTokens, true>,
                                     q4k_gemm_tokens<1, true>>;
  TypeKernels& iq4 = k.types[static_cast<uint32_t>(core::GgmlType::kIQ4_XS)];
  iq4.packed_rows = 16, iq4.pack_rows = pack_iq4xs_x16;
  iq4.packed_product = group_product<Iq4xs, 4, PackedQ6K<16>, unpack_iq4xs,
                                     offset_gemm_tokens<kGemmTokens, 8, 7, false>, offset_gemm_tokens<1, 8, 7, false>>;
  TypeKernels& q8 = k.types[static_cast<uint32_t>(core::GgmlType::kQ8_0)];
  q8.packed_rows = 16, q8.pack_rows = pack_q8_0_x16, q8.packed_product = q8_0_group_product;
  TypeKernels& q6k = k.types[static_cast<uint32_t>(core::GgmlType::kQ6_K)];
  q6k.packed_rows = 16, q6k.pack_rows = pack_q6k_x16,
  q6k.packed_product = group_product<Q6k, 4, PackedQ6K<16>, unpack_q6k, offset_gemm_tokens<kGemmTokens, 16, 5, true>,
                                     offset_gemm_tokens<1, 16, 5, true>>;
}

}  // namespace onprem::kernels
