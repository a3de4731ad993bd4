// The float-vector operations of the code written once for a vector type (simd_poly.h and the
// f32-activation kernels of simd_avx2.h), sixteen lanes wide. Included only by files compiled
// with the AVX-512 flags; anonymous namespace, so nothing leaks into code built for another ISA.
#pragma once

#include <immintrin.h>

namespace onprem::kernels {
namespace {

struct F32x16 {
  using V = __m512;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float f) { return _mm512_set1_ps(f); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
  static V fma_codes16(__m128i codes, const float* x, V scale, V acc) {
    return _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(codes)), _mm512_loadu_ps(x)), scale,
                           acc);
  }
  static V fma_codes32(__m256i codes, const float* x, V scale, V acc) {
    const V lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(codes)));
    const V hi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(codes, 1)));
    const V s = _mm512_fmadd_ps(hi, _mm512_loadu_ps(x + 16), _mm512_mul_ps(lo, _mm512_loadu_ps(x)));
    return _mm512_fmadd_ps(s, scale, acc);
  }
  static V fnmadd_sum32(const float* x, V scale, V acc) {
    return _mm512_fnmadd_ps(_mm512_add_ps(_mm512_loadu_ps(x), _mm512_loadu_ps(x + 16)), scale, acc);
  }
  static float reduce(V v) { return _mm512_reduce_add_ps(v); }
};

}  // namespace
}  // namespace onprem::kernels
