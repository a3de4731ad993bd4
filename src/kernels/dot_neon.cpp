// ARM64 NEON dot products (Advanced SIMD is in every ARMv8-A CPU, so this file needs no flags).
// f32 activations: FMA on decoded weights (K-quant blocks decoded by quant/, the ground truth);
// int8 activations: smull + sadalp integer sums per block (simd_neon.h), exact, then the scales.
#include <arm_neon.h>

#include "kernels/simd_neon.h"
#include "kernels/variants.h"
#include "quant/dequant.h"

namespace onprem::kernels {

namespace {

using namespace neon;

// Σ of 16 int8 products into four int32 lanes: products fit int16, pairs are widened as added.
struct DotNeon {
  static int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b) {
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
  }
};

// Σ a_i x_i over n floats, four vectors in flight; tail in scalar.
float dot_floats(const float* a, const float* x, int64_t n) {
  float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(x + i));
    s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(x + i + 4));
    s2 = vfmaq_f32(s2, vld1q_f32(a + i + 8), vld1q_f32(x + i + 8));
    s3 = vfmaq_f32(s3, vld1q_f32(a + i + 12), vld1q_f32(x + i + 12));
  }
  for (; i + 4 <= n; i += 4) s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(x + i));
  float s = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
  for (; i < n; ++i) s += a[i] * x[i];
  return s;
}

float dot_f32(const void* w, const float* x, int64_t n) { return dot_floats(static_cast<const float*>(w), x, n); }

inline float32x4_t load4_f16(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
inline float32x4_t load4_bf16(const uint16_t* p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }
inline float one_f16(uint16_t h) { return half(h); }
inline float one_bf16(uint16_t h) {
  const uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

template <float32x4_t (*Load4)(const uint16_t*), float (*One)(uint16_t)>
float dot_16bit(const void* w, const float* x, int64_t n) {
  const uint16_t* a = static_cast<const uint16_t*>(w);
  float32x4_t s0 = vdupq_n_f32(0), s1 = s0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 = vfmaq_f32(s0, Load4(a + i), vld1q_f32(x + i));
    s1 = vfmaq_f32(s1, Load4(a + i + 4), vld1q_f32(x + i + 4));
  }
  for (; i + 4 <= n; i += 4) s0 = vfmaq_f32(s0, Load4(a + i), vld1q_f32(x + i));
  float s = vaddvq_f32(vaddq_f32(s0, s1));
  for (; i < n; ++i) s += One(a[i]) * x[i];
  return s;
}

// Quantised weights × f32: decode one block (quant/'s scalar decoder), then the NEON dot.
template <int kBlock, int kBytes, void (*Dequant)(const void*, float*, int64_t)>
float dot_blocked_f32(const void* w, const float* x, int64_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(w);
  float buf[kBlock];
  float s = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    Dequant(p + b * kBytes, buf, kBlock);
    s += dot_floats(buf, x + b * kBlock, kBlock);
  }
  return s;
}

}  // namespace

void fill_neon(Kernels& k) {
  using core::GgmlType;
  auto set_f32 = [&](GgmlType t, DotF32Fn f) { k.types[uint32_t(t)].dot_f32 = f; };
  set_f32(GgmlType::kF32, dot_f32);
  set_f32(GgmlType::kF16, dot_16bit<load4_f16, one_f16>);
  set_f32(GgmlType::kBF16, dot_16bit<load4_bf16, one_bf16>);
  set_f32(GgmlType::kQ4_0, dot_blocked_f32<32, 18, quant::dequantize_row_q4_0>);
  set_f32(GgmlType::kQ8_0, dot_blocked_f32<32, 34, quant::dequantize_row_q8_0>);
  set_f32(GgmlType::kQ4_K, dot_blocked_f32<256, 144, quant::dequantize_row_q4_k>);
  set_f32(GgmlType::kQ5_K, dot_blocked_f32<256, 176, quant::dequantize_row_q5_k>);
  set_f32(GgmlType::kQ6_K, dot_blocked_f32<256, 210, quant::dequantize_row_q6_k>);
  fill_int8_dots<DotNeon>(k);
}

}  // namespace onprem::kernels
