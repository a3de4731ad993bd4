// AVX2 kernels on weights repacked at load (kernels/packed_rows.h): groups of 8 rows, one 32-bit
// lane per row. vpmaddubsw against one broadcast activation word gives code·x pairs for all 8
// rows; a sub-block's pairs add up in 16 bits, and one vpmaddwd by the row's scale (in both
// halves of its lane) takes them to 32. Same flags and rules as dot_avx2.cpp; its single dots
// set the float steps that every result here repeats.
#include <immintrin.h>

#include <cstring>

#include "kernels/gemm_avx2.h"
#include "kernels/packed_rows.h"
#include "kernels/variants.h"
#include "quant/blocks.h"

namespace onprem::kernels {

namespace {

// How far ahead of the block in use the kernels ask for lines, into L2 (_MM_HINT_T1): a group is
// one sequential stream. On AVX-512, 4,608 bytes into L2 decoded the 27B-shaped file 12-15 % faster
// than 1,152 into L1 (2,304 to 6,912 were alike); on AVX2, whose kernels compute slower, alike.
constexpr int64_t kPrefetchBytes = 4608;

inline __m256i widen8(const uint8_t* p) {  // 8 bytes to 8 lanes
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
inline __m256i word_of(const int8_t* p) {  // four activation bytes, broadcast
  int32_t w;
  std::memcpy(&w, p, 4);
  return _mm256_set1_epi32(w);
}
inline __m256i twice(__m256i v) { return _mm256_or_si256(v, _mm256_slli_epi32(v, 16)); }  // v < 2^15 in both halves
inline __m256i pair_of(int32_t lo, int32_t hi) {
  return _mm256_set1_epi32(int32_t(uint32_t(uint16_t(lo)) | uint32_t(uint16_t(hi)) << 16));
}

// Sub-blocks 2c and 2c + 1 of a Q4_K / Q5_K super-block at b (group layout G): their scales, and
// their minimums as one 16-bit pair, a lane per row.
struct Qk45Scales {
  __m256i sc0, sc1, mpair;
};
template <class G>
inline Qk45Scales qk45_scales(const uint8_t* b, int c) {
  const __m256i m15 = _mm256_set1_epi32(15), m3 = _mm256_set1_epi32(3);
  const __m256i l0 = widen8(b + G::kLow + 8 * (2 * c)), l1 = widen8(b + G::kLow + 8 * (2 * c + 1));
  const __m256i h = widen8(b + G::kHigh + 8 * c);
  const __m256i mn0 =
      _mm256_or_si256(_mm256_srli_epi32(l0, 4), _mm256_slli_epi32(_mm256_and_si256(h, _mm256_set1_epi32(12)), 2));
  const __m256i mn1 = _mm256_or_si256(_mm256_srli_epi32(l1, 4), _mm256_slli_epi32(_mm256_srli_epi32(h, 6), 4));
  return {
      _mm256_or_si256(_mm256_and_si256(l0, m15), _mm256_slli_epi32(_mm256_and_si256(h, m3), 4)),
      _mm256_or_si256(_mm256_and_si256(l1, m15), _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h, 4), m3), 4)),
      _mm256_or_si256(mn0, _mm256_slli_epi32(mn1, 16))};
}

// The fifth bits of a Q5_K group's codes: bit s of each qh byte, as 16 (0 or 16 per byte).
inline __m256i fifth(__m256i qh, int s) {
  const __m256i bit = _mm256_set1_epi8(char(1 << s));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit), _mm256_set1_epi8(16));
}

// Q4_K (or with kFive Q5_K) x Q8_K, T tokens. The exact S = Σ_s sc_s · Σ code·x and
// M = Σ_s m_s · Σ x per row, then qk45_q8_rows's float steps: total += xd · (d·S − dmin·M). A
// sub-block's quads add up in 16 bits before the scale takes them to 32: all eight for Q4_K (at
// most 8 · 2 · 15 · 128 < 2^15), four at a time for Q5_K's codes to 31.
template <int T, bool kFive = false>
void q4k_group_tokens(const uint8_t* g, int64_t nb, const q::BlockQ8_K* const* xs, float* y, int64_t ldy) {
  using G = Q4kGroup<8, kFive>;
  constexpr int kQuadsIn16 = kFive ? 4 : 8;
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  __m256 total[T];
  for (int t = 0; t < T; ++t) total[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = g + i * G::kBlockBytes;
    const char* ahead = reinterpret_cast<const char*>(b) + kPrefetchBytes;
    for (int64_t o = 0; o < G::kBlockBytes; o += 64) _mm_prefetch(ahead + o, _MM_HINT_T1);
    __m256i S[T], M[T];
    for (int t = 0; t < T; ++t) S[t] = M[t] = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const Qk45Scales q = qk45_scales<G>(b, c);
      const __m256i scp0 = twice(q.sc0), scp1 = twice(q.sc1);
      for (int q0 = 0; q0 < 8; q0 += kQuadsIn16) {
        __m256i A0[T], A1[T];
        for (int t = 0; t < T; ++t) A0[t] = A1[t] = _mm256_setzero_si256();
        for (int qd = q0; qd < q0 + kQuadsIn16; ++qd) {
          const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kCodes + 32 * (8 * c + qd)));
          __m256i lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
          if constexpr (kFive) {
            const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kQh + 32 * qd));
            lo = _mm256_or_si256(lo, fifth(qh, 2 * c)), hi = _mm256_or_si256(hi, fifth(qh, 2 * c + 1));
          }
          for (int t = 0; t < T; ++t) {
            const int8_t* x = xs[t][i].qs + 64 * c + 4 * qd;
            A0[t] = _mm256_add_epi16(A0[t], _mm256_maddubs_epi16(lo, word_of(x)));
            A1[t] = _mm256_add_epi16(A1[t], _mm256_maddubs_epi16(hi, word_of(x + 32)));
          }
        }
        for (int t = 0; t < T; ++t)
          S[t] =
              _mm256_add_epi32(S[t], _mm256_add_epi32(_mm256_madd_epi16(A0[t], scp0), _mm256_madd_epi16(A1[t], scp1)));
      }
      for (int t = 0; t < T; ++t) {
        const int16_t* bs = xs[t][i].bsums + 4 * c;
        M[t] = _mm256_add_epi32(M[t], _mm256_madd_epi16(q.mpair, pair_of(bs[0] + bs[1], bs[2] + bs[3])));
      }
    }
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + G::kD)));
    const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + G::kDmin)));
    for (int t = 0; t < T; ++t) {
      const __m256 inner = _mm256_fmsub_ps(d, _mm256_cvtepi32_ps(S[t]), _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(M[t])));
      total[t] = _mm256_fmadd_ps(_mm256_set1_ps(xs[t][i].d), inner, total[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm256_storeu_ps(y + t * ldy, total[t]);
}

// Q6_K x Q8_K, T tokens: the exact X = Σ_s sc_s · (Σ code·x − 32 · Σ x) per row, then
// q6k_q8_rows's float steps: total += (d·xd)·X. Two quads' pairs add up in 16 bits (at most
// 2 · 2 · 63 · 128 < 2^15) before the scale takes them to 32, as in q6k8_gemm_tokens. A pass over
// (h, qg) covers the sub-blocks 8h + qg + {0, 2, 4, 6}.
template <int T>
void q6k_group_tokens(const uint8_t* g, int64_t nb, const q::BlockQ8_K* const* xs, float* y, int64_t ldy) {
  using G = Q6kGroup<8>;
  const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
  // vpshufb controls (bytes index their 128-bit half): each lane's low or high 16-bit scale in both halves.
  const __m256i low_twice =
      _mm256_setr_epi32(0x01000100, 0x05040504, 0x09080908, 0x0D0C0D0C, 0x01000100, 0x05040504, 0x09080908, 0x0D0C0D0C);
  const __m256i high_twice =
      _mm256_setr_epi32(0x03020302, 0x07060706, 0x0B0A0B0A, 0x0F0E0F0E, 0x03020302, 0x07060706, 0x0B0A0B0A, 0x0F0E0F0E);
  __m256 total[T];
  for (int t = 0; t < T; ++t) total[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = g + i * G::kBlockBytes;
    const char* ahead = reinterpret_cast<const char*>(b) + kPrefetchBytes;
    for (int64_t o = 0; o < G::kBlockBytes; o += 64) _mm_prefetch(ahead + o, _MM_HINT_T1);
    __m256i S[T], corr[T];
    for (int t = 0; t < T; ++t) S[t] = corr[t] = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      __m256i pair[4];  // (sc_2k, sc_2k+1) per row, k = 4h + m
      for (int m = 0; m < 4; ++m)
        pair[m] =
            _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + G::kScales + 16 * (4 * h + m))));
      for (int t = 0; t < T; ++t)
        for (int m = 0; m < 4; ++m) {
          const int16_t* bs = xs[t][i].bsums + 2 * (4 * h + m);
          corr[t] = _mm256_add_epi32(corr[t], _mm256_madd_epi16(pair[m], pair_of(bs[0], bs[1])));
        }
      for (int qg = 0; qg < 2; ++qg) {
        __m256i sc[4];
        for (int m = 0; m < 4; ++m) sc[m] = _mm256_shuffle_epi8(pair[m], qg ? high_twice : low_twice);
        for (int p = 0; p < 2; ++p) {
          __m256i A[4][T];
          for (int m = 0; m < 4; ++m)
            for (int t = 0; t < T; ++t) A[m][t] = _mm256_setzero_si256();
          for (int e = 0; e < 2; ++e) {
            const int qd = 4 * qg + 2 * p + e;
            const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kHigh + 32 * (8 * h + qd)));
            const __m256i f[4] = {_mm256_and_si256(_mm256_slli_epi16(hb, 4), m30),
                                  _mm256_and_si256(_mm256_slli_epi16(hb, 2), m30), _mm256_and_si256(hb, m30),
                                  _mm256_and_si256(_mm256_srli_epi16(hb, 2), m30)};
            __m256i codes[4];
            for (int j = 0; j < 2; ++j) {
              const __m256i raw =
                  _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kLow + 32 * (16 * h + 8 * j + qd)));
              codes[j] = _mm256_or_si256(_mm256_and_si256(raw, m4), f[j]);
              codes[2 + j] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(raw, 4), m4), f[2 + j]);
            }
            for (int m = 0; m < 4; ++m)
              for (int t = 0; t < T; ++t)
                A[m][t] = _mm256_add_epi16(
                    A[m][t], _mm256_maddubs_epi16(codes[m], word_of(xs[t][i].qs + 128 * h + 32 * m + 4 * qd)));
          }
          for (int m = 0; m < 4; ++m)
            for (int t = 0; t < T; ++t) S[t] = _mm256_add_epi32(S[t], _mm256_madd_epi16(A[m][t], sc[m]));
        }
      }
    }
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + G::kD)));
    for (int t = 0; t < T; ++t) {
      const __m256i X = _mm256_sub_epi32(S[t], _mm256_slli_epi32(corr[t], 5));
      total[t] =
          _mm256_add_ps(total[t], _mm256_mul_ps(_mm256_mul_ps(d, _mm256_set1_ps(xs[t][i].d)), _mm256_cvtepi32_ps(X)));
    }
  }
  for (int t = 0; t < T; ++t) _mm256_storeu_ps(y + t * ldy, total[t]);
}

// IQ4_XS x Q8_K, T tokens: iq4_xs_rows's integers and float steps (dot_avx2_lowbit.cpp), per row:
// X = Σ_s (sc_s − 32) · Σ level·x, then total += (d·xd)·X. The levels are signed, so the
// unsigned side of vpmaddubsw is |level| and each broadcast activation word takes the level's sign
// row by row (vpsignb); a pair is at most 2 · 127 · 127 < 2^15, and vpmaddwd by the row's scale
// takes it to 32 bits.
template <int T>
void iq4xs_group_tokens(const uint8_t* g, int64_t nb, const q::BlockQ8_K* const* xs, float* y, int64_t ldy) {
  using G = Iq4xsGroup<8>;
  const __m256i m4 = _mm256_set1_epi8(0x0F), m15 = _mm256_set1_epi32(15), m3 = _mm256_set1_epi32(3);
  const __m256i lut = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q::kIq4Levels)));
  __m256 total[T];
  for (int t = 0; t < T; ++t) total[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = g + i * G::kBlockBytes;
    const char* ahead = reinterpret_cast<const char*>(b) + kPrefetchBytes;
    for (int64_t o = 0; o < G::kBlockBytes; o += 64) _mm_prefetch(ahead + o, _MM_HINT_T1);
    const __m256i high = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + G::kHigh)));
    __m256i S[T];
    for (int t = 0; t < T; ++t) S[t] = _mm256_setzero_si256();
    for (int s = 0; s < 8; ++s) {
      const __m256i low = _mm256_and_si256(_mm256_srli_epi32(widen8(b + G::kLow + 8 * (s / 2)), 4 * (s % 2)), m15);
      const __m256i sc = _mm256_sub_epi32(
          _mm256_or_si256(low, _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(high, 2 * s), m3), 4)),
          _mm256_set1_epi32(32));
      const __m256i scp = _mm256_or_si256(_mm256_and_si256(sc, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(sc, 16));
      for (int qd = 0; qd < 4; ++qd) {
        const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kCodes + 32 * (4 * s + qd)));
        const __m256i w[2] = {_mm256_shuffle_epi8(lut, _mm256_and_si256(raw, m4)),
                              _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4))};
        for (int e = 0; e < 2; ++e) {
          const __m256i mag = _mm256_sign_epi8(w[e], w[e]);
          for (int t = 0; t < T; ++t) {
            const __m256i x = _mm256_sign_epi8(word_of(xs[t][i].qs + 32 * s + 16 * e + 4 * qd), w[e]);
            S[t] = _mm256_add_epi32(S[t], _mm256_madd_epi16(_mm256_maddubs_epi16(mag, x), scp));
          }
        }
      }
    }
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + G::kD)));
    for (int t = 0; t < T; ++t)
      total[t] = _mm256_add_ps(total[t],
                               _mm256_mul_ps(_mm256_mul_ps(d, _mm256_set1_ps(xs[t][i].d)), _mm256_cvtepi32_ps(S[t])));
  }
  for (int t = 0; t < T; ++t) _mm256_storeu_ps(y + t * ldy, total[t]);
}

// Prefill: from kGemmMinTokens tokens on, a group is unpacked into the prefill kernels' form
// (gemm_avx2.h: one code per byte, each scale in both 16-bit halves of its lane) and multiplied
// there, as rows from the file are. The group kernels above were 1.1-2x slower on prompts.
template <bool kFive>
void unpack_qk45(const uint8_t* g, int64_t nb, PackedQ4K<8>* p) {
  using G = Q4kGroup<8, kFive>;
  prepare<PackedQ4K<8>, 8>(p, nb, 64, 8, 8);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  auto store = [](Lanes<8>& l, __m256i v) { _mm256_store_si256(reinterpret_cast<__m256i*>(l.v), v); };
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = g + i * G::kBlockBytes;
    for (int c = 0; c < 4; ++c) {
      const Qk45Scales q = qk45_scales<G>(b, c);
      store(p->scales[size_t(i * 8 + 2 * c)], twice(q.sc0));
      store(p->scales[size_t(i * 8 + 2 * c + 1)], twice(q.sc1));
      store(p->mins[size_t(i * 4 + c)], q.mpair);
      for (int qd = 0; qd < 8; ++qd) {
        const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kCodes + 32 * (8 * c + qd)));
        __m256i lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
        if constexpr (kFive) {
          const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kQh + 32 * qd));
          lo = _mm256_or_si256(lo, fifth(qh, 2 * c)), hi = _mm256_or_si256(hi, fifth(qh, 2 * c + 1));
        }
        store(p->codes[size_t(i * 64 + 8 * (2 * c) + qd)], lo);
        store(p->codes[size_t(i * 64 + 8 * (2 * c + 1) + qd)], hi);
      }
    }
    _mm256_store_ps(reinterpret_cast<float*>(p->d[size_t(i)].v),
                    _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + G::kD))));
    _mm256_store_ps(reinterpret_cast<float*>(p->dmin[size_t(i)].v),
                    _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + G::kDmin))));
  }
}

void unpack_q6k(const uint8_t* g, int64_t nb, PackedQ6K<8>* p) {
  using G = Q6kGroup<8>;
  prepare<PackedQ6K<8>, 8>(p, nb, 64, 16, 8);
  const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
  auto store = [](Lanes<8>& l, __m256i v) { _mm256_store_si256(reinterpret_cast<__m256i*>(l.v), v); };
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = g + i * G::kBlockBytes;
    for (int k = 0; k < 8; ++k) {
      const __m256i pair =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + G::kScales + 16 * k)));
      store(p->pairs[size_t(i * 8 + k)], pair);
      const __m256i lo = _mm256_slli_epi32(pair, 16), hi = _mm256_srli_epi32(pair, 16);
      store(p->scales[size_t(i * 16 + 2 * k)], _mm256_or_si256(lo, _mm256_srli_epi32(lo, 16)));
      store(p->scales[size_t(i * 16 + 2 * k + 1)], _mm256_or_si256(hi, _mm256_slli_epi32(hi, 16)));
    }
    for (int h = 0; h < 2; ++h)
      for (int qd = 0; qd < 8; ++qd) {
        const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kHigh + 32 * (8 * h + qd)));
        const __m256i f[4] = {_mm256_and_si256(_mm256_slli_epi16(hb, 4), m30),
                              _mm256_and_si256(_mm256_slli_epi16(hb, 2), m30), _mm256_and_si256(hb, m30),
                              _mm256_and_si256(_mm256_srli_epi16(hb, 2), m30)};
        for (int j = 0; j < 2; ++j) {
          const __m256i raw =
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + G::kLow + 32 * (16 * h + 8 * j + qd)));
          store(p->codes[size_t(i * 64 + 32 * h + 8 * j + qd)], _mm256_or_si256(_mm256_and_si256(raw, m4), f[j]));
          store(p->codes[size_t(i * 64 + 32 * h + 8 * (2 + j) + qd)],
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(raw, 4), m4), f[2 + j]));
        }
      }
    _mm256_store_ps(reinterpret_cast<float*>(p->d[size_t(i)].v),
                    _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + G::kD))));
  }
}

using GroupFn = void (*)(const uint8_t*, int64_t, const q::BlockQ8_K* const*, float*, int64_t);

// Kernels::packed_product: for prompts, the unpacked group and the prefill token kernels (for the
// types that have them); else the group kernel on pairs of tokens (the 16 ymm registers hold no
// more accumulators), then one.
template <GroupFn K2, GroupFn K1, class Packed, void (*Unpack)(const uint8_t*, int64_t, Packed*), auto Gemm,
          auto GemmOne>
void group_product(const uint8_t* group, const uint8_t* xq, int64_t xq_bytes, int64_t n_tokens, int64_t n, float* y,
                   int64_t ldy) {
  const int64_t nb = n / 256;
  int64_t t = 0;
  auto x = [&](int64_t tt) { return reinterpret_cast<const q::BlockQ8_K*>(xq + tt * xq_bytes); };
  if constexpr (Unpack != nullptr) {
    if (n_tokens >= kGemmMinTokens) {
      thread_local Packed packed;
      Unpack(group, nb, &packed);
      const q::BlockQ8_K* xs[kGemmTokens];
      for (; t + kGemmTokens <= n_tokens; t += kGemmTokens) {
        for (int j = 0; j < kGemmTokens; ++j) xs[j] = x(t + j);
        Gemm(packed, nb, xs, 8, y + t * ldy, ldy);
      }
      for (; t < n_tokens; ++t) {
        xs[0] = x(t);
        GemmOne(packed, nb, xs, 8, y + t * ldy, ldy);
      }
      return;
    }
  }
  const q::BlockQ8_K* xs[2];
  for (; t + 2 <= n_tokens; t += 2) {
    xs[0] = x(t), xs[1] = x(t + 1);
    K2(group, nb, xs, y + t * ldy, ldy);
  }
  for (; t < n_tokens; ++t) {
    xs[0] = x(t);
    K1(group, nb, xs, y + t * ldy, ldy);
  }
}

}  // namespace

void fill_avx2_packed(Kernels& k) {
  TypeKernels& q4k = k.types[static_cast<uint32_t>(core::GgmlType::kQ4_K)];
  q4k.packed_rows = 8, q4k.pack_rows = pack_q4k_x8;
  q4k.packed_product = group_product<q4k_group_tokens<2>, q4k_group_tokens<1>, PackedQ4K<8>, unpack_qk45<false>,
                                     q4k8_gemm_tokens<kGemmTokens>, q4k8_gemm_tokens<1>>;
  TypeKernels& q5k = k.types[static_cast<uint32_t>(core::GgmlType::kQ5_K)];
  q5k.packed_rows = 8, q5k.pack_rows = pack_q5k_x8;
  q5k.packed_product = group_product<q4k_group_tokens<2, true>, q4k_group_tokens<1, true>, PackedQ4K<8>,
                                     unpack_qk45<true>, q4k8_gemm_tokens<kGemmTokens>, q4k8_gemm_tokens<1>>;
  // IQ4_XS: the group kernel on every token count (this table has no packed-block prefill for it).
  TypeKernels& iq4 = k.types[static_cast<uint32_t>(core::GgmlType::kIQ4_XS)];
  iq4.packed_rows = 8, iq4.pack_rows = pack_iq4xs_x8;
  iq4.packed_product =
      group_product<iq4xs_group_tokens<2>, iq4xs_group_tokens<1>, PackedQ4K<8>, nullptr, nullptr, nullptr>;
  TypeKernels& q6k = k.types[static_cast<uint32_t>(core::GgmlType::kQ6_K)];
  q6k.packed_rows = 8, q6k.pack_rows = pack_q6k_x8;
  q6k.packed_product = group_product<q6k_group_tokens<2>, q6k_group_tokens<1>, PackedQ6K<8>, unpack_q6k,
                                     q6k8_gemm_tokens<kGemmTokens>, q6k8_gemm_tokens<1>>;
}

}  // namespace onprem::kernels
