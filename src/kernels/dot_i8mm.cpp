// ARM64 int8 dot products with smmla (ARMv8.6 i8mm): one instruction multiplies a 2×8 int8
// matrix by an 8×2 one, so two weight rows meet two activation rows at once and each decoded
// weight byte is used twice. Each 2×2 result is bit-identical to the single-row dot of the
// dotprod table (the same exact integer sums, then simd_neon.h's float formula per lane).
// Compiled with -march=armv8.2-a+dotprod+i8mm; dispatch.cpp calls fill_i8mm only when
// AT_HWCAP2 reports i8mm.
#include "kernels/simd_neon.h"
#include "kernels/variants.h"

namespace onprem::kernels {

namespace {

using namespace neon;

// tile += {a0·b0, a0·b1, a1·b0, a1·b1} over 16 int8 lanes (rows a0, a1; columns b0, b1).
inline int32x4_t mm16(int32x4_t tile, int8x16_t a0, int8x16_t a1, int8x16_t b0, int8x16_t b1) {
  auto lo = [](int8x16_t x, int8x16_t y) {
    return vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(x), vreinterpretq_s64_s8(y)));
  };
  auto hi = [](int8x16_t x, int8x16_t y) {
    return vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(x), vreinterpretq_s64_s8(y)));
  };
  tile = vmmlaq_s32(tile, lo(a0, a1), lo(b0, b1));
  return vmmlaq_s32(tile, hi(a0, a1), hi(b0, b1));
}

// {r0, r0, r1, r1} and {t0, t1, t0, t1}: the lanes of a tile by weight row and by token.
inline float32x4_t by_row(float r0, float r1) { return float32x4_t{r0, r0, r1, r1}; }
inline float32x4_t by_token(float t0, float t1) { return float32x4_t{t0, t1, t0, t1}; }
inline int32x4_t by_row_i(int32_t r0, int32_t r1) { return int32x4_t{r0, r0, r1, r1}; }

template <class Block, int8x16_t (*Lo)(const Block&), int8x16_t (*Hi)(const Block&)>
void dot_32_2x2(const void* w0, const void* w1, const void* x0, const void* x1, int64_t n, float* out) {
  const Block* a[2] = {static_cast<const Block*>(w0), static_cast<const Block*>(w1)};
  const q::BlockQ8_0* b[2] = {static_cast<const q::BlockQ8_0*>(x0), static_cast<const q::BlockQ8_0*>(x1)};
  float32x4_t acc = vdupq_n_f32(0);
  for (int64_t i = 0; i < n / q::kQK; ++i) {
    int32x4_t t = mm16(vdupq_n_s32(0), Lo(a[0][i]), Lo(a[1][i]), vld1q_s8(b[0][i].qs), vld1q_s8(b[1][i].qs));
    t = mm16(t, Hi(a[0][i]), Hi(a[1][i]), vld1q_s8(b[0][i].qs + 16), vld1q_s8(b[1][i].qs + 16));
    const float32x4_t scale =
        vmulq_f32(by_row(half(a[0][i].d), half(a[1][i].d)), by_token(half(b[0][i].d), half(b[1][i].d)));
    acc = vaddq_f32(acc, vmulq_f32(scale, vcvtq_f32_s32(t)));
  }
  vst1q_f32(out, acc);
}

inline int8x16_t q8_0_lo(const q::BlockQ8_0& b) { return vld1q_s8(b.qs); }
inline int8x16_t q8_0_hi(const q::BlockQ8_0& b) { return vld1q_s8(b.qs + 16); }
inline int8x16_t q4_0_lo_b(const q::BlockQ4_0& b) { return q4_0_lo(b.qs); }
inline int8x16_t q4_0_hi_b(const q::BlockQ4_0& b) { return q4_0_hi(b.qs); }

template <class Block, bool kFive>
void dot_qk45_2x2(const void* w0, const void* w1, const void* x0, const void* x1, int64_t n, float* out) {
  const Block* a[2] = {static_cast<const Block*>(w0), static_cast<const Block*>(w1)};
  const q::BlockQ8_K* b[2] = {static_cast<const q::BlockQ8_K*>(x0), static_cast<const q::BlockQ8_K*>(x1)};
  float32x4_t acc = vdupq_n_f32(0);
  for (int64_t i = 0; i < n / q::kQKK; ++i) {
    int32x4_t scaled = vdupq_n_s32(0);
    for (int c = 0; c < 4; ++c) {
      const uint8_t* qh0 = nullptr;
      const uint8_t* qh1 = nullptr;
      if constexpr (kFive) qh0 = a[0][i].qh, qh1 = a[1][i].qh;
      const Codes32x2 r0 = qk45_codes<kFive>(a[0][i].qs, qh0, c), r1 = qk45_codes<kFive>(a[1][i].qs, qh1, c);
      const int8_t* y0 = b[0][i].qs + 64 * c;
      const int8_t* y1 = b[1][i].qs + 64 * c;
      int32x4_t lo = mm16(vdupq_n_s32(0), r0.lo[0], r1.lo[0], vld1q_s8(y0), vld1q_s8(y1));
      lo = mm16(lo, r0.lo[1], r1.lo[1], vld1q_s8(y0 + 16), vld1q_s8(y1 + 16));
      int32x4_t hi = mm16(vdupq_n_s32(0), r0.hi[0], r1.hi[0], vld1q_s8(y0 + 32), vld1q_s8(y1 + 32));
      hi = mm16(hi, r0.hi[1], r1.hi[1], vld1q_s8(y0 + 48), vld1q_s8(y1 + 48));
      int sc[2][2], m;
      for (int r = 0; r < 2; ++r) {
        scale_min_k4(2 * c, a[r][i].scales, &sc[r][0], &m);
        scale_min_k4(2 * c + 1, a[r][i].scales, &sc[r][1], &m);
      }
      scaled = vmlaq_s32(scaled, lo, by_row_i(sc[0][0], sc[1][0]));
      scaled = vmlaq_s32(scaled, hi, by_row_i(sc[0][1], sc[1][1]));
    }
    const int32x4_t mins = {k4_mins(a[0][i].scales, b[0][i].bsums), k4_mins(a[0][i].scales, b[1][i].bsums),
                            k4_mins(a[1][i].scales, b[0][i].bsums), k4_mins(a[1][i].scales, b[1][i].bsums)};
    const float32x4_t d = by_row(half(a[0][i].d), half(a[1][i].d)),
                      dmin = by_row(half(a[0][i].dmin), half(a[1][i].dmin));
    const float32x4_t inner = vsubq_f32(vmulq_f32(d, vcvtq_f32_s32(scaled)), vmulq_f32(dmin, vcvtq_f32_s32(mins)));
    acc = vaddq_f32(acc, vmulq_f32(by_token(b[0][i].d, b[1][i].d), inner));
  }
  vst1q_f32(out, acc);
}

void dot_q6_k_2x2(const void* w0, const void* w1, const void* x0, const void* x1, int64_t n, float* out) {
  const q::BlockQ6_K* a[2] = {static_cast<const q::BlockQ6_K*>(w0), static_cast<const q::BlockQ6_K*>(w1)};
  const q::BlockQ8_K* b[2] = {static_cast<const q::BlockQ8_K*>(x0), static_cast<const q::BlockQ8_K*>(x1)};
  float32x4_t acc = vdupq_n_f32(0);
  for (int64_t i = 0; i < n / q::kQKK; ++i) {
    int32x4_t sum = vdupq_n_s32(0);
    for (int h = 0; h < 2; ++h) {
      int8x16_t c0[8], c1[8];
      q6_k_codes(a[0][i], h, c0);
      q6_k_codes(a[1][i], h, c1);
      for (int g = 0; g < 8; ++g) {
        const int8_t* y0 = b[0][i].qs + 128 * h + 16 * g;
        const int8_t* y1 = b[1][i].qs + 128 * h + 16 * g;
        const int32x4_t t = mm16(vdupq_n_s32(0), c0[g], c1[g], vld1q_s8(y0), vld1q_s8(y1));
        sum = vmlaq_s32(sum, t, by_row_i(a[0][i].scales[8 * h + g], a[1][i].scales[8 * h + g]));
      }
    }
    const float32x4_t scale = vmulq_f32(by_row(half(a[0][i].d), half(a[1][i].d)), by_token(b[0][i].d, b[1][i].d));
    acc = vaddq_f32(acc, vmulq_f32(scale, vcvtq_f32_s32(sum)));
  }
  vst1q_f32(out, acc);
}

}  // namespace

void fill_i8mm(Kernels& k) {
  using core::GgmlType;
  k.types[uint32_t(GgmlType::kQ8_0)].dot_q8_2x2 = dot_32_2x2<q::BlockQ8_0, q8_0_lo, q8_0_hi>;
  k.types[uint32_t(GgmlType::kQ4_0)].dot_q8_2x2 = dot_32_2x2<q::BlockQ4_0, q4_0_lo_b, q4_0_hi_b>;
  k.types[uint32_t(GgmlType::kQ4_K)].dot_q8_2x2 = dot_qk45_2x2<q::BlockQ4_K, false>;
  k.types[uint32_t(GgmlType::kQ5_K)].dot_q8_2x2 = dot_qk45_2x2<q::BlockQ5_K, true>;
  k.types[uint32_t(GgmlType::kQ6_K)].dot_q8_2x2 = dot_q6_k_2x2;
  // These types pair rows and tokens in smmla tiles (half the multiplies of sdot per product)
  // instead of the dotprod table's one-row token groups, which matmat would otherwise take first.
  for (GgmlType t : {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K})
    k.types[uint32_t(t)].dot_q8_multi = nullptr, k.types[uint32_t(t)].multi_tokens = 0;
}

}  // namespace onprem::kernels
