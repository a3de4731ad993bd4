// Scalar reference element-wise ops, in the precision llama.cpp's CPU backend uses (sums of
// squares in double, expf for the transcendental functions).
#include <cmath>
#include <cstring>

#include "kernels/attention_tiled.h"
#include "kernels/variants.h"

namespace onprem::kernels {

namespace {

void rms_norm_ref(const float* x, const float* w, float* y, int64_t n, float eps) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += double(x[i]) * x[i];
  const float r = float(1.0 / std::sqrt(ss / double(n) + double(eps)));
  for (int64_t i = 0; i < n; ++i) y[i] = w ? (x[i] * r) * w[i] : x[i] * r;
}

void l2_norm_ref(const float* x, float* y, int64_t n, float eps) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += double(x[i]) * x[i];
  const float r = float(1.0 / std::fmax(std::sqrt(ss), double(eps)));
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * r;
}

void silu_ref(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (1.0f + std::exp(-x[i]));
}

void swiglu_ref(const float* g, const float* u, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void sigmoid_ref(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
}

void softplus_ref(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 20.0f ? x[i] : std::log1p(std::exp(x[i]));
}

void softmax_ref(const float* x, float* y, int64_t n) {
  if (n <= 0) return;
  float mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = std::fmax(mx, x[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    y[i] = std::exp(x[i] - mx);
    sum += y[i];
  }
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) y[i] *= inv;
}

}  // namespace

namespace {
constexpr int kLanes = 16;
float reduce_lanes(float* acc) {
  for (int w = kLanes / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}
}  // namespace

void delta_rule_step_ref(float* S, const float* k, const float* q, const float* v, float beta, float decay, int64_t dk,
                         int64_t dv, float* o) {
  for (int64_t c = 0; c < dv; ++c) {
    float* row = S + c * dk;
    float acc[kLanes] = {};
    for (int64_t i = 0; i < dk; ++i) row[i] *= decay, acc[i % kLanes] += row[i] * k[i];
    const float delta = beta * (v[c] - reduce_lanes(acc));
    float acc2[kLanes] = {};
    for (int64_t i = 0; i < dk; ++i) row[i] += delta * k[i], acc2[i % kLanes] += row[i] * q[i];
    o[c] = reduce_lanes(acc2);
  }
}

namespace {
void exp_row_ref(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
}

// Four floats in the compiler's generic vectors: SSE2 on x86-64, NEON on ARM64, both baseline.
typedef float F4 __attribute__((vector_size(16)));
struct AttentionF4 {
  using V = F4;
  static constexpr int64_t W = 4, Q = 2;
  static V load(const float* x) {
    V v;
    std::memcpy(&v, x, sizeof v);
    return v;
  }
  static void store(float* x, V v) { std::memcpy(x, &v, sizeof v); }
  static V bcast(float x) { return V{x, x, x, x}; }
  static V zero() { return V{0, 0, 0, 0}; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V max(V a, V b) { return a > b ? a : b; }
  static float hsum(V v) { return (v[0] + v[1]) + (v[2] + v[3]); }
  static float hmax(V v) {
    const float a = v[0] > v[1] ? v[0] : v[1], b = v[2] > v[3] ? v[2] : v[3];
    return a > b ? a : b;
  }
  static void exp_row(float* x, int64_t n) { exp_row_ref(x, n); }
};
}  // namespace

void fill_scalar_ops(Kernels& k) {
  k.rms_norm = rms_norm_ref;
  k.l2_norm = l2_norm_ref;
  k.silu = silu_ref;
  k.swiglu = swiglu_ref;
  k.sigmoid = sigmoid_ref;
  k.softplus = softplus_ref;
  k.softmax = softmax_ref;
  k.delta_rule_step = delta_rule_step_ref;
  // Tiled like the SIMD tables, in 4-float vectors every CPU of the architecture has.
  k.attention = attention_tiled<AttentionF4, OneFloat<exp_row_ref>>;
}

}  // namespace onprem::kernels
