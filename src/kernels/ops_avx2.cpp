// AVX2 element-wise ops. Same contracts as ops_ref.cpp; sums are kept in f32 lanes (the tests
// bound the difference from the double-precision reference).
#include "kernels/attention_tiled.h"
#include "kernels/simd_avx2.h"
#include "kernels/variants.h"

namespace onprem::kernels {

namespace {

using namespace avx2;

float sum_squares(const float* x, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
    a0 = _mm256_fmadd_ps(v0, v0, a0);
    a1 = _mm256_fmadd_ps(v1, v1, a1);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    a0 = _mm256_fmadd_ps(v, v, a0);
  }
  float s = hsum(_mm256_add_ps(a0, a1));
  for (; i < n; ++i) s += x[i] * x[i];
  return s;
}

void scale_mul(const float* x, const float* w, float* y, int64_t n, float r) {
  const __m256 rv = _mm256_set1_ps(r);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), rv);
    if (w) v = _mm256_mul_ps(v, _mm256_loadu_ps(w + i));
    _mm256_storeu_ps(y + i, v);
  }
  for (; i < n; ++i) y[i] = w ? (x[i] * r) * w[i] : x[i] * r;
}

void rms_norm_avx2(const float* x, const float* w, float* y, int64_t n, float eps) {
  const float r = 1.0f / __builtin_sqrtf(sum_squares(x, n) / float(n) + eps);
  scale_mul(x, w, y, n, r);
}

void l2_norm_avx2(const float* x, float* y, int64_t n, float eps) {
  const float norm = __builtin_sqrtf(sum_squares(x, n));
  scale_mul(x, nullptr, y, n, 1.0f / (norm > eps ? norm : eps));
}

// Applies f to full vectors and, through a zero-padded vector, to the tail.
template <typename F>
void map(const float* x, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));
  if (i < n) {
    float in[8] = {0}, out[8];
    for (int64_t k = i; k < n; ++k) in[k - i] = x[k];
    _mm256_storeu_ps(out, f(_mm256_loadu_ps(in)));
    for (int64_t k = i; k < n; ++k) y[k] = out[k - i];
  }
}

inline __m256 sigmoid_v(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

void silu_avx2(const float* x, float* y, int64_t n) {
  map(x, y, n, [](__m256 v) { return _mm256_mul_ps(v, sigmoid_v(v)); });
}

void sigmoid_avx2(const float* x, float* y, int64_t n) { map(x, y, n, sigmoid_v); }

void swiglu_avx2(const float* g, const float* u, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(g + i);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(v, sigmoid_v(v)), _mm256_loadu_ps(u + i)));
  }
  for (; i < n; ++i) {
    float t[8] = {g[i]}, o[8];
    _mm256_storeu_ps(o, sigmoid_v(_mm256_loadu_ps(t)));
    y[i] = g[i] * o[0] * u[i];
  }
}

// ln(1 + t) for t in [0, 1], accurate for tiny t: ln(u) * t / (u - 1) with u = 1 + t rounded
// (the rounding error of u cancels), and t itself where u rounds to 1.
inline __m256 log1p_small(__m256 t) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 u = _mm256_add_ps(one, t);
  const __m256 um1 = _mm256_sub_ps(u, one);
  const __m256 r = _mm256_div_ps(_mm256_mul_ps(log_ps(u), t), _mm256_max_ps(um1, _mm256_set1_ps(1e-30f)));
  return _mm256_blendv_ps(r, t, _mm256_cmp_ps(um1, _mm256_setzero_ps(), _CMP_EQ_OQ));
}

// softplus(x) = max(x, 0) + ln(1 + e^-|x|), and x itself above 20 as llama.cpp does.
void softplus_avx2(const float* x, float* y, int64_t n) {
  map(x, y, n, [](__m256 v) {
    const __m256 t = exp_ps(_mm256_or_ps(v, _mm256_set1_ps(-0.0f)));  // e^-|x|, in (0, 1]
    const __m256 r = _mm256_add_ps(_mm256_max_ps(v, _mm256_setzero_ps()), log1p_small(t));
    return _mm256_blendv_ps(r, v, _mm256_cmp_ps(v, _mm256_set1_ps(20.0f), _CMP_GT_OQ));
  });
}

void softmax_avx2(const float* x, float* y, int64_t n) {
  if (n <= 0) return;
  float mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  const __m256 mv = _mm256_set1_ps(mx);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
    _mm256_storeu_ps(y + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  float sum = hsum(acc);
  if (i < n) {
    float in[8], out[8];
    for (int k = 0; k < 8; ++k) in[k] = i + k < n ? x[i + k] - mx : -1e30f;
    _mm256_storeu_ps(out, exp_ps(_mm256_loadu_ps(in)));
    for (int64_t k = i; k < n; ++k) y[k] = out[k - i], sum += out[k - i];
  }
  scale_mul(y, nullptr, y, n, 1.0f / sum);
}

void exp_row_avx2(float* x, int64_t n) {
  map(x, x, n, [](__m256 v) { return exp_ps(v); });
}

struct AttentionAvx2 {
  using V = __m256;
  static constexpr int64_t W = 8, Q = 2;
  static V load(const float* x) { return _mm256_loadu_ps(x); }
  static void store(float* x, V v) { _mm256_storeu_ps(x, v); }
  static V bcast(float x) { return _mm256_set1_ps(x); }
  static V zero() { return _mm256_setzero_ps(); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static float hsum(V v) { return avx2::hsum(v); }
  static float hmax(V v) {
    const __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 h2 = _mm_max_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_max_ss(h2, _mm_shuffle_ps(h2, h2, 1)));
  }
  static void exp_row(float* x, int64_t n) { exp_row_avx2(x, n); }
};

}  // namespace

namespace {

// The reference's 16 lanes as two ymm (lanes 0-7 and 8-15); products and sums stay separate (no
// fma) to match it, and the sum is the reference's pairwise order: lanes l and l + 8, then + 4,
// + 2, + 1.
inline float reduce_pairwise(__m256 lo, __m256 hi) {
  const __m256 h8 = _mm256_add_ps(lo, hi);
  const __m128 h4 = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
  const __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));
  return _mm_cvtss_f32(_mm_add_ss(h2, _mm_shuffle_ps(h2, h2, 1)));
}

void delta_rule_step_avx2(float* S, const float* k, const float* q, const float* v, float beta, float decay, int64_t dk,
                          int64_t dv, float* o) {
  if (dk % 16 != 0) return delta_rule_step_ref(S, k, q, v, beta, decay, dk, dv, o);
  const __m256 vd = _mm256_set1_ps(decay);
  for (int64_t c = 0; c < dv; ++c) {
    float* row = S + c * dk;
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t i = 0; i < dk; i += 8) {
      const __m256 r = _mm256_mul_ps(_mm256_loadu_ps(row + i), vd);
      _mm256_storeu_ps(row + i, r);
      acc[(i / 8) % 2] = _mm256_add_ps(acc[(i / 8) % 2], _mm256_mul_ps(r, _mm256_loadu_ps(k + i)));
    }
    const __m256 delta = _mm256_set1_ps(beta * (v[c] - reduce_pairwise(acc[0], acc[1])));
    __m256 acc2[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t i = 0; i < dk; i += 8) {
      const __m256 r = _mm256_add_ps(_mm256_loadu_ps(row + i), _mm256_mul_ps(delta, _mm256_loadu_ps(k + i)));
      _mm256_storeu_ps(row + i, r);
      acc2[(i / 8) % 2] = _mm256_add_ps(acc2[(i / 8) % 2], _mm256_mul_ps(r, _mm256_loadu_ps(q + i)));
    }
    o[c] = reduce_pairwise(acc2[0], acc2[1]);
  }
}

}  // namespace

void fill_avx2_ops(Kernels& k) {
  k.rms_norm = rms_norm_avx2;
  k.l2_norm = l2_norm_avx2;
  k.silu = silu_avx2;
  k.swiglu = swiglu_avx2;
  k.sigmoid = sigmoid_avx2;
  k.softplus = softplus_avx2;
  k.softmax = softmax_avx2;
  k.delta_rule_step = delta_rule_step_avx2;
  k.attention = attention_tiled<AttentionAvx2, OneFloat<exp_row_avx2>>;
}

}  // namespace onprem::kernels
