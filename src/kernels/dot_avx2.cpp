// AVX2 dot products (f32 activations: FMA on decoded weights; int8 activations: maddubs/madd
// integer sums per block, exact, then the float scales). Contracts in kernels.h.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/half.h"
#include "kernels/gemm_avx2.h"
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

template <int T>
void dot_q6_k_rows(const void* w, const void* const* xq, int64_t n, float* out) {
  q6k_q8_rows<T>(static_cast<const q::BlockQ6_K*>(w), reinterpret_cast<const q::BlockQ8_K* const*>(xq), n, out);
}

}  // namespace

void fill_avx2_ops(Kernels& k);
void fill_avx2_packed(Kernels& k);

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
  fill_avx2_packed(k);
}

}  // namespace onprem::kernels
