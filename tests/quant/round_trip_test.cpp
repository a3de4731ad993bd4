// Quantise random rows, decode them, and hold the error to bounds derived from each format.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant/dequant.h"
#include "quant/quantize.h"

namespace onprem::quant {
namespace {

using core::GgmlType;

std::vector<float> gaussian(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> x(n);
  for (auto& v : x) v = nd(rng);
  return x;
}

double rel_rms(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) num += double(a[i] - b[i]) * (a[i] - b[i]), den += double(a[i]) * a[i];
  return std::sqrt(num / den);
}

std::vector<float> round_trip(GgmlType t, const std::vector<float>& x) {
  const auto info = *core::ggml_type_info(uint32_t(t));
  std::vector<uint8_t> q(core::ggml_row_bytes(info, x.size()));
  quantizer(t)(x.data(), q.data(), int64_t(x.size()), nullptr);
  std::vector<float> y(x.size());
  dequantizer(t)(q.data(), y.data(), int64_t(x.size()));
  return y;
}

// Q8_0: each value is within half a step of its block scale (plus the scale's own fp16 rounding,
// at most 2^-11 relative, times the largest code 127).
TEST(RoundTrip, Q8_0PerValueBound) {
  const auto x = gaussian(4096, 1);
  std::vector<uint8_t> q(4096 / 32 * 34);
  quantize_row_q8_0(x.data(), q.data(), 4096);
  std::vector<float> y(4096);
  dequantize_row_q8_0(q.data(), y.data(), 4096);
  const auto* b = reinterpret_cast<const BlockQ8_0*>(q.data());
  for (size_t i = 0; i < x.size(); ++i) {
    const float d = core::fp16_to_f32(b[i / 32].d);
    EXPECT_LE(std::fabs(x[i] - y[i]), 0.5f * d + 127 * d * std::ldexp(1.0f, -10)) << i;
  }
  // Idempotent: quantising the decoded values gives the same blocks.
  std::vector<uint8_t> q2(q.size());
  quantize_row_q8_0(y.data(), q2.data(), 4096);
  EXPECT_EQ(q, q2);
}

// Gaussian data: the step is (range / levels); uniform rounding noise is step / sqrt(12).
// Q8_0: 32 values span about ±2.5σ over 254 steps -> 0.0057σ; Q6_K: 16 values, ±2σ over 64
// steps -> 0.018σ; Q4_K: 32 values, about 4.5σ over 15 steps -> 0.087σ. Bounds are 1.5x these.
TEST(RoundTrip, RelativeErrorWithinDerivedBounds) {
  const auto x = gaussian(256 * 64, 7, 0.02f);
  const double q8 = rel_rms(x, round_trip(GgmlType::kQ8_0, x));
  const double q6 = rel_rms(x, round_trip(GgmlType::kQ6_K, x));
  const double q4 = rel_rms(x, round_trip(GgmlType::kQ4_K, x));
  const double f16 = rel_rms(x, round_trip(GgmlType::kF16, x));
  const double bf16 = rel_rms(x, round_trip(GgmlType::kBF16, x));
  EXPECT_LT(q8, 0.0057 * 1.5);
  EXPECT_LT(q6, 0.018 * 1.5);
  EXPECT_LT(q4, 0.087 * 1.5);
  EXPECT_LT(f16, std::ldexp(1.0, -11));
  EXPECT_LT(bf16, std::ldexp(1.0, -8));
  EXPECT_LT(q8, q6);
  EXPECT_LT(q6, q4);
  std::printf("rel rms: Q8_0 %.5f  Q6_K %.5f  Q4_K %.5f  F16 %.2e  BF16 %.2e\n", q8, q6, q4, f16, bf16);
}

// The 32-value types: symmetric Q4_0 / Q5_0 put the largest magnitude on the end code, so 32
// Gaussian values (about ±2.2σ) span 2 x 2.2σ over 15 or 31 steps -> 0.085σ / 0.041σ; Q4_1 / Q5_1
// spread min..max (about 4.3σ) over 15 / 31 steps -> 0.083σ / 0.040σ. Bounds are 1.5x these, and
// each value is within half a step of its block (plus the fp16 scale's rounding); on the symmetric
// types' far side the top code is one step short of the largest magnitude, so there a full step.
TEST(RoundTrip, LegacyTypesWithinDerivedBounds) {
  const auto x = gaussian(32 * 512, 11, 0.02f);
  const struct {
    GgmlType t;
    double bound;
    int top;
    bool affine;
  } cases[] = {{GgmlType::kQ4_0, 0.085, 15, false},
               {GgmlType::kQ5_0, 0.041, 31, false},
               {GgmlType::kQ4_1, 0.083, 15, true},
               {GgmlType::kQ5_1, 0.040, 31, true}};
  for (const auto& c : cases) {
    const auto y = round_trip(c.t, x);
    const double r = rel_rms(x, y);
    EXPECT_LT(r, c.bound * 1.5) << core::ggml_type_name(c.t);
    for (size_t b = 0; b < x.size() / 32; ++b) {
      float lo = x[32 * b], hi = x[32 * b], amax = 0;
      for (int j = 0; j < 32; ++j)
        lo = std::min(lo, x[32 * b + j]), hi = std::max(hi, x[32 * b + j]),
        amax = std::max(amax, std::fabs(x[32 * b + j]));
      const float step = c.affine ? (hi - lo) / float(c.top) : amax / float((c.top + 1) / 2);
      for (int j = 0; j < 32; ++j)
        ASSERT_LE(std::fabs(y[32 * b + j] - x[32 * b + j]),
                  (c.affine ? 0.5f : 1.0f) * step * (1 + 1e-3f) + amax * 2e-3f)
            << core::ggml_type_name(c.t) << " block " << b << " value " << j;
    }
    std::printf("rel rms %s %.4f\n", core::ggml_type_name(c.t).c_str(), r);
  }
}

// Edge rows: all zero, constant, one spike, all negative.
TEST(RoundTrip, EdgeRowsStayFinite) {
  std::vector<std::vector<float>> rows = {std::vector<float>(256, 0.0f), std::vector<float>(256, 3.0f),
                                          std::vector<float>(256, -1.0f), std::vector<float>(256, 0.0f)};
  rows[3][17] = 100.0f;
  for (auto t : {GgmlType::kQ8_0, GgmlType::kQ4_K, GgmlType::kQ6_K, GgmlType::kQ8_K, GgmlType::kQ4_0, GgmlType::kQ4_1,
                 GgmlType::kQ5_0, GgmlType::kQ5_1}) {
    for (const auto& x : rows) {
      const auto y = round_trip(t, x);
      for (size_t i = 0; i < x.size(); ++i) {
        ASSERT_TRUE(std::isfinite(y[i]));
        const float amax =
            *std::max_element(x.begin(), x.end(), [](float a, float b) { return std::fabs(a) < std::fabs(b); });
        EXPECT_LE(std::fabs(y[i] - x[i]), std::fabs(amax) * 0.1f + 1e-6f) << int(t) << " " << i;
      }
    }
  }
}

// Q8_K follows llama.cpp: the largest-magnitude value becomes -127, bsums are the group sums.
TEST(RoundTrip, Q8_KActivationFormat) {
  const auto x = gaussian(512, 3);
  std::vector<BlockQ8_K> q(2);
  quantize_row_q8_k(x.data(), q.data(), 512);
  for (int b = 0; b < 2; ++b) {
    int amax_i = 0;
    for (int j = 0; j < 256; ++j)
      if (std::fabs(x[size_t(256 * b + j)]) > std::fabs(x[size_t(256 * b + amax_i)])) amax_i = j;
    EXPECT_EQ(q[size_t(b)].qs[amax_i], -127);
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int j = 0; j < 16; ++j) s += q[size_t(b)].qs[16 * g + j];
      EXPECT_EQ(q[size_t(b)].bsums[g], s);
    }
    for (int j = 0; j < 256; ++j)
      EXPECT_LE(std::fabs(q[size_t(b)].d * float(q[size_t(b)].qs[j]) - x[size_t(256 * b + j)]),
                0.5f * std::fabs(q[size_t(b)].d) * 1.0001f);
  }
}

}  // namespace
}  // namespace onprem::quant
