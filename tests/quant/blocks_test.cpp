// Hand-built blocks whose values follow from formats.md §3 by hand, not from our decoder.
#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant/dequant.h"

namespace onprem::quant {
namespace {

using core::f32_to_fp16;

TEST(Blocks, Q4_0) {
  BlockQ4_0 b;
  b.d = f32_to_fp16(0.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = uint8_t(j | ((15 - j) << 4));
  float y[32];
  dequantize_row_q4_0(&b, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * float(j - 8));
    EXPECT_EQ(y[j + 16], 0.5f * float(7 - j));
  }
}

TEST(Blocks, Q8_0) {
  BlockQ8_0 b;
  b.d = f32_to_fp16(0.25f);
  for (int j = 0; j < 32; ++j) b.qs[j] = int8_t(j * 8 - 128);
  float y[32];
  dequantize_row_q8_0(&b, y, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.25f * float(j * 8 - 128));
}

// Packs eight 6-bit scales and minimums the way formats.md describes the unpacking.
void pack_k4_scales(const int* sc, const int* m, uint8_t* out) {
  for (int s = 0; s < 4; ++s) {
    out[s] = uint8_t((sc[s] & 63) | ((sc[s + 4] >> 4) << 6));
    out[s + 4] = uint8_t((m[s] & 63) | ((m[s + 4] >> 4) << 6));
    out[s + 8] = uint8_t((sc[s + 4] & 15) | ((m[s + 4] & 15) << 4));
  }
}

TEST(Blocks, Q4_K) {
  BlockQ4_K b;
  b.d = f32_to_fp16(0.5f);
  b.dmin = f32_to_fp16(0.25f);
  int sc[8], m[8];
  for (int s = 0; s < 8; ++s) sc[s] = 10 + 7 * s, m[s] = 60 - 7 * s;
  pack_k4_scales(sc, m, b.scales);
  for (int i = 0; i < 128; ++i) b.qs[i] = uint8_t((i % 16) | ((15 - i % 16) << 4));
  float y[256];
  dequantize_row_q4_k(&b, y, 256);
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) {
      EXPECT_FLOAT_EQ(y[64 * c + l], 0.5f * float(sc[2 * c] * (l % 16)) - 0.25f * float(m[2 * c]));
      EXPECT_FLOAT_EQ(y[64 * c + 32 + l], 0.5f * float(sc[2 * c + 1] * (15 - l % 16)) - 0.25f * float(m[2 * c + 1]));
    }
}

TEST(Blocks, Q5_K) {
  BlockQ5_K b;
  b.d = f32_to_fp16(1.0f);
  b.dmin = f32_to_fp16(2.0f);
  int sc[8], m[8];
  for (int s = 0; s < 8; ++s) sc[s] = 63 - 5 * s, m[s] = 3 * s;
  pack_k4_scales(sc, m, b.scales);
  for (int i = 0; i < 128; ++i) b.qs[i] = uint8_t((i % 16) | ((i % 16) << 4));
  // Fifth bit set for even l in every sub-block.
  for (int l = 0; l < 32; ++l) b.qh[l] = (l % 2 == 0) ? 0xFF : 0x00;
  float y[256];
  dequantize_row_q5_k(&b, y, 256);
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) {
      const int code = (l % 16) + (l % 2 == 0 ? 16 : 0);
      EXPECT_FLOAT_EQ(y[64 * c + l], float(sc[2 * c] * code) - 2.0f * float(m[2 * c]));
      EXPECT_FLOAT_EQ(y[64 * c + 32 + l], float(sc[2 * c + 1] * code) - 2.0f * float(m[2 * c + 1]));
    }
}

// Q6_K: every value v (0..255) gets the 6-bit code (v * 5) % 64 and sub-block scale (v/16) - 8.
TEST(Blocks, Q6_K) {
  BlockQ6_K b;
  std::memset(&b, 0, sizeof b);
  b.d = f32_to_fp16(0.125f);
  for (int s = 0; s < 16; ++s) b.scales[s] = int8_t(s - 8);
  auto code = [](int v) { return (v * 5) % 64; };
  // Value 128n + 32j + l (j = 0..3) lives in ql[64n + l + 32(j&1)] nibble (j>>1), qh[32n + l] bits 2j.
  for (int n = 0; n < 2; ++n)
    for (int j = 0; j < 4; ++j)
      for (int l = 0; l < 32; ++l) {
        const int q = code(128 * n + 32 * j + l);
        b.ql[64 * n + l + 32 * (j & 1)] |= uint8_t((q & 15) << (4 * (j >> 1)));
        b.qh[32 * n + l] |= uint8_t((q >> 4) << (2 * j));
      }
  float y[256];
  dequantize_row_q6_k(&b, y, 256);
  for (int v = 0; v < 256; ++v) EXPECT_EQ(y[v], 0.125f * float(v / 16 - 8) * float(code(v) - 32)) << v;
}

TEST(Blocks, Bf16AndF16Rows) {
  const uint16_t h[3] = {0x3c00, 0xc000, 0x0001};
  float y[3];
  dequantize_row_f16(h, y, 3);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -2.0f);
  EXPECT_EQ(y[2], std::ldexp(1.0f, -24));
  const uint16_t b[2] = {0x3f80, 0xc0a0};
  dequantize_row_bf16(b, y, 2);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -5.0f);
}

}  // namespace
}  // namespace onprem::quant
