// AVX2 dot products (f32 activations: FMA on decoded weights; int8 activations: maddubs/madd
// integer sums per block, exact, then the float scales). Contracts in kernels.h.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/half.h"
#include "kernels/packed_k.h"
#include "kernels/simd_avx2.h"
#include "kernels/variants.h"
#include "quant/blocks.h"

namespace onprem::kernels {

namespace {

using namespace avx2;
namespace q = quant;

inline float half(uint16_t h) { return _cvtsh_ss(h); }

// ---- float weights ----

float dot_f32(const void* w, const float* x, int64_t n) {
  const float* a = static_cast<const float*>(w);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(x + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(x + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(x + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(x + i + 24), s3);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(x + i), s0);
  float s = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < n; ++i) s += a[i] * x[i];
  return s;
}

inline __m256 load_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m256 load_bf16(const uint16_t* p) {
  const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

float bf16_scalar(uint16_t b) { return core::bf16_to_f32(b); }
inline __m256 load_f32(const float* p) { return _mm256_loadu_ps(p); }
inline float f32_scalar(float f) { return f; }

// F16 / BF16 weights times activations of type X: f32 (dot_f32), or rounded to the weights' own
// format as llama.cpp rounds them (dot_q8; see dot_ref.cpp).
template <__m256 (*Load)(const uint16_t*), float (*Scalar)(uint16_t), typename X, __m256 (*LoadX)(const X*),
          float (*ScalarX)(X)>
float dot_16bit_rows(const uint16_t* a, const X* x, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    prefetch_ahead<32>(a + i);
    s0 = _mm256_fmadd_ps(Load(a + i), LoadX(x + i), s0);
    s1 = _mm256_fmadd_ps(Load(a + i + 8), LoadX(x + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(Load(a + i), LoadX(x + i), s0);
  float s = hsum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) s += Scalar(a[i]) * ScalarX(x[i]);
  return s;
}
template <__m256 (*Load)(const uint16_t*), float (*Scalar)(uint16_t)>
float dot_16bit(const void* w, const float* x, int64_t n) {
  return dot_16bit_rows<Load, Scalar, float, load_f32, f32_scalar>(static_cast<const uint16_t*>(w), x, n);
}
template <__m256 (*Load)(const uint16_t*), float (*Scalar)(uint16_t)>
float dot_16bit_16bit(const void* w, const void* xq, int64_t n) {
  return dot_16bit_rows<Load, Scalar, uint16_t, Load, Scalar>(static_cast<const uint16_t*>(w),
                                                              static_cast<const uint16_t*>(xq), n);
}

// ---- quantised weights, int8 activations ----

// Each int8 kernel is written once for T activation rows (prefill: T tokens share every decoded
// weight block; decode: T = 1), with AVX2's int8 primitive (simd_avx2.h).
// Tokens per multi-token call: 4 accumulators leave registers for the codes, the scale and the
// activations of the 16 the AVX2 file has.
constexpr int kRowTokens = 4;

template <int T>
void dot_q8_0_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  q32_q8_rows<T, q8_0_block_codes, dot_u8s8_avx2>(static_cast<const uint8_t*>(w), sizeof(q::BlockQ8_0),
                                                  reinterpret_cast<const q::BlockQ8_0* const*>(xq), n, out);
}
template <int T>
void dot_q4_0_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  q32_q8_rows<T, q4_0_block_codes, dot_u8s8_avx2>(static_cast<const uint8_t*>(w), sizeof(q::BlockQ4_0),
                                                  reinterpret_cast<const q::BlockQ8_0* const*>(xq), n, out);
}
template <bool kFive, int T>
void dot_qk45_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  qk45_q8_rows<kFive, T>(w, reinterpret_cast<const q::BlockQ8_K* const*>(xq), n, out);
}

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

template <int T>
void dot_q6_k_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  q6k_q8_rows<T>(static_cast<const q::BlockQ6_K*>(w), reinterpret_cast<const q::BlockQ8_K* const*>(xq), n, out);
}

}  // namespace

void fill_avx2_ops(Kernels& k);

void fill_avx2(Kernels& k) {
  using core::GgmlType;
  auto set = [&](GgmlType t, DotF32Fn f, DotQ8Fn qf) {
    auto& e = k.types[static_cast<uint32_t>(t)];
    e.dot_f32 = f;
    if (qf) e.dot_q8 = qf;
  };
  set(GgmlType::kF32, dot_f32, nullptr);
  set(GgmlType::kF16, dot_16bit<load_f16, half>, dot_16bit_16bit<load_f16, half>);
  set(GgmlType::kBF16, dot_16bit<load_bf16, bf16_scalar>, dot_16bit_16bit<load_bf16, bf16_scalar>);
  auto multi = [&](GgmlType t, DotF32Fn f, DotQ8Fn one, DotQ8MultiFn rows) {
    set(t, f, one);
    k.types[static_cast<uint32_t>(t)].dot_q8_multi = rows;
    k.types[static_cast<uint32_t>(t)].multi_tokens = kRowTokens;
  };
  multi(GgmlType::kQ8_0, dot_q8_0_f32<F32x8>, dot_one<dot_q8_0_rows<1>>, dot_q8_0_rows<kRowTokens>);
  multi(GgmlType::kQ4_0, dot_q4_0_f32<F32x8>, dot_one<dot_q4_0_rows<1>>, dot_q4_0_rows<kRowTokens>);
  multi(GgmlType::kQ4_K, dot_qk45_f32<F32x8, false>, dot_one<dot_qk45_rows<false, 1>>,
        dot_qk45_rows<false, kRowTokens>);
  k.types[static_cast<uint32_t>(GgmlType::kQ4_K)].gemm_q8 =
      gemm_packed<PackedQ4K<8>, 8, pack_qk45<8, true>, kGemmTokens, q4k8_gemm_tokens<kGemmTokens>, q4k8_gemm_tokens<1>>;
  multi(GgmlType::kQ5_K, dot_qk45_f32<F32x8, true>, dot_one<dot_qk45_rows<true, 1>>, dot_qk45_rows<true, kRowTokens>);
  // Q5_K packs as Q4_K with its fifth bit in the codes; its float steps are Q4_K's (qk45_q8_rows).
  k.types[static_cast<uint32_t>(GgmlType::kQ5_K)].gemm_q8 =
      gemm_packed<PackedQ4K<8>, 8, pack_qk45<8, true, true>, kGemmTokens, q4k8_gemm_tokens<kGemmTokens>,
                  q4k8_gemm_tokens<1>>;
  multi(GgmlType::kQ6_K, dot_q6_k_f32<F32x8>, dot_one<dot_q6_k_rows<1>>, dot_q6_k_rows<kRowTokens>);
  k.types[static_cast<uint32_t>(GgmlType::kQ6_K)].gemm_q8 =
      gemm_packed<PackedQ6K<8>, 8, pack_q6k<8, true>, kGemmTokens, q6k8_gemm_tokens<kGemmTokens>, q6k8_gemm_tokens<1>>;
  fill_avx2_lowbit(k);
  k.types[static_cast<uint32_t>(GgmlType::kQ3_K)].gemm_q8 =
      gemm_packed<PackedQ6K<8>, 8, pack_q3k<8, true>, kGemmTokens, q6k8_gemm_tokens<kGemmTokens, 2>,
                  q6k8_gemm_tokens<1, 2>>;
  fill_avx2_ops(k);
}

}  // namespace onprem::kernels
