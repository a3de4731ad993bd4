// AVX-512 element-wise ops: 16 lanes, masked loads and stores for the tails.
#include <immintrin.h>

#include "kernels/attention_tiled.h"
#include "kernels/simd_avx512.h"
#include "kernels/simd_poly.h"
#include "kernels/variants.h"

namespace onprem::kernels {

namespace {

inline __mmask16 tail_mask(int64_t left) { return left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1); }

// e^x, same reduction and polynomial as the AVX2 version (simd_avx2.h), with scalef for 2^n.
inline __m512 exp_ps(__m512 x) {
  const __m512 lo = _mm512_set1_ps(-87.33654f);
  const __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
  x = _mm512_min_ps(_mm512_max_ps(x, lo), _mm512_set1_ps(100.0f));  // above 88.72 scalef overflows to +inf
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 p = exp_reduced<F32x16>(exp_remainder<F32x16>(x, n));
  // scalef computes p * 2^n without leaving the exponent range early; overflow gives +inf.
  return _mm512_maskz_mov_ps(__mmask16(~under), _mm512_scalef_ps(p, n));
}

// ln(x) for x > 0: getexp / getmant split, then the Cephes logf polynomial.
inline __m512 log_ps(__m512 x) {
  __m512 e = _mm512_getexp_ps(x);                                          // floor(log2 x)
  __m512 m = _mm512_getmant_ps(x, _MM_MANT_NORM_p5_1, _MM_MANT_SIGN_src);  // [0.5, 1)
  e = _mm512_add_ps(e, _mm512_set1_ps(1.0f));
  const __mmask16 small = _mm512_cmp_ps_mask(m, _mm512_set1_ps(0.707106781186547524f), _CMP_LT_OQ);
  e = _mm512_mask_sub_ps(e, small, e, _mm512_set1_ps(1.0f));
  m = _mm512_add_ps(_mm512_sub_ps(m, _mm512_set1_ps(1.0f)), _mm512_maskz_mov_ps(small, m));
  return log_reduced<F32x16>(m, e);
}

inline __m512 sigmoid_v(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(one, _mm512_add_ps(one, exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

template <typename F>
void map(const float* x, float* y, int64_t n, F f) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, f(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

float sum_squares(const float* x, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __m512 v = _mm512_maskz_loadu_ps(tail_mask(n - i), x + i);
    acc = _mm512_fmadd_ps(v, v, acc);
  }
  return _mm512_reduce_add_ps(acc);
}

void scale_mul(const float* x, const float* w, float* y, int64_t n, float r) {
  const __m512 rv = _mm512_set1_ps(r);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), rv);
    if (w) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, w + i));
    _mm512_mask_storeu_ps(y + i, m, v);
  }
}

void rms_norm_avx512(const float* x, const float* w, float* y, int64_t n, float eps) {
  scale_mul(x, w, y, n, 1.0f / __builtin_sqrtf(sum_squares(x, n) / float(n) + eps));
}

void l2_norm_avx512(const float* x, float* y, int64_t n, float eps) {
  const float norm = __builtin_sqrtf(sum_squares(x, n));
  scale_mul(x, nullptr, y, n, 1.0f / (norm > eps ? norm : eps));
}

void silu_avx512(const float* x, float* y, int64_t n) {
  map(x, y, n, [](__m512 v) { return _mm512_mul_ps(v, sigmoid_v(v)); });
}

void sigmoid_avx512(const float* x, float* y, int64_t n) { map(x, y, n, sigmoid_v); }

void swiglu_avx512(const float* g, const float* u, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, g + i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_mul_ps(v, sigmoid_v(v)), _mm512_maskz_loadu_ps(m, u + i)));
  }
}

// ln(1 + t) for t in [0, 1], accurate for tiny t (see ops_avx2.cpp).
inline __m512 log1p_small(__m512 t) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 u = _mm512_add_ps(one, t);
  const __m512 um1 = _mm512_sub_ps(u, one);
  const __m512 r = _mm512_div_ps(_mm512_mul_ps(log_ps(u), t), _mm512_max_ps(um1, _mm512_set1_ps(1e-30f)));
  return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(um1, _mm512_setzero_ps(), _CMP_EQ_OQ), t);
}

void softplus_avx512(const float* x, float* y, int64_t n) {
  map(x, y, n, [](__m512 v) {
    const __m512 t = exp_ps(_mm512_or_ps(v, _mm512_set1_ps(-0.0f)));  // e^-|x|, in (0, 1]
    const __m512 r = _mm512_add_ps(_mm512_max_ps(v, _mm512_setzero_ps()), log1p_small(t));
    return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(v, _mm512_set1_ps(20.0f), _CMP_GT_OQ), v);
  });
}

void softmax_avx512(const float* x, float* y, int64_t n) {
  if (n <= 0) return;
  __m512 mx = _mm512_set1_ps(-__builtin_inff());
  for (int64_t i = 0; i < n; i += 16) mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(mx, tail_mask(n - i), x + i));
  const __m512 mv = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 e = _mm512_maskz_mov_ps(m, exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), mv)));
    _mm512_mask_storeu_ps(y + i, m, e);
    acc = _mm512_add_ps(acc, e);
  }
  scale_mul(y, nullptr, y, n, 1.0f / _mm512_reduce_add_ps(acc));
}

void exp_row_avx512(float* x, int64_t n) {
  map(x, x, n, [](__m512 v) { return exp_ps(v); });
}

struct AttentionAvx512 {
  using V = __m512;
  static constexpr int64_t W = 16, Q = 4;
  static V load(const float* x) { return _mm512_loadu_ps(x); }
  static void store(float* x, V v) { _mm512_storeu_ps(x, v); }
  static V bcast(float x) { return _mm512_set1_ps(x); }
  static V zero() { return _mm512_setzero_ps(); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static float hsum(V v) { return _mm512_reduce_add_ps(v); }
  static float hmax(V v) { return _mm512_reduce_max_ps(v); }
  static void exp_row(float* x, int64_t n) { exp_row_avx512(x, n); }
};

}  // namespace

namespace {
// The reference's pairwise order: lanes l and l + 8, then + 4, + 2, + 1.
inline float reduce_pairwise(__m512 a) {
  const __m256 h8 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
  const __m128 h4 = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
  const __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));
  return _mm_cvtss_f32(_mm_add_ss(h2, _mm_shuffle_ps(h2, h2, 1)));
}

// One zmm is the reference's 16 lanes; products and sums stay separate (no fma) to match it.
void delta_rule_step_avx512(float* S, const float* k, const float* q, const float* v, float beta, float decay,
                            int64_t dk, int64_t dv, float* o) {
  if (dk % 16 != 0 || dk > 512) return delta_rule_step_ref(S, k, q, v, beta, decay, dk, dv, o);
  const __m512 vd = _mm512_set1_ps(decay);
  for (int64_t c = 0; c < dv; ++c) {
    float* row = S + c * dk;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < dk; i += 16) {
      const __m512 r = _mm512_mul_ps(_mm512_loadu_ps(row + i), vd);
      _mm512_storeu_ps(row + i, r);
      acc = _mm512_add_ps(acc, _mm512_mul_ps(r, _mm512_loadu_ps(k + i)));
    }
    const __m512 delta = _mm512_set1_ps(beta * (v[c] - reduce_pairwise(acc)));
    __m512 acc2 = _mm512_setzero_ps();
    for (int64_t i = 0; i < dk; i += 16) {
      const __m512 r = _mm512_add_ps(_mm512_loadu_ps(row + i), _mm512_mul_ps(delta, _mm512_loadu_ps(k + i)));
      _mm512_storeu_ps(row + i, r);
      acc2 = _mm512_add_ps(acc2, _mm512_mul_ps(r, _mm512_loadu_ps(q + i)));
    }
    o[c] = reduce_pairwise(acc2);
  }
}

}  // namespace

void fill_avx512_ops(Kernels& k) {
  k.rms_norm = rms_norm_avx512;
  k.l2_norm = l2_norm_avx512;
  k.silu = silu_avx512;
  k.swiglu = swiglu_avx512;
  k.sigmoid = sigmoid_avx512;
  k.softplus = softplus_avx512;
  k.softmax = softmax_avx512;
  k.delta_rule_step = delta_rule_step_avx512;
  k.attention = attention_tiled<AttentionAvx512, OneFloat<exp_row_avx512>>;
}

}  // namespace onprem::kernels
