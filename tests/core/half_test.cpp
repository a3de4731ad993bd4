#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "core/half.h"

namespace onprem::core {
namespace {

// Every one of the 65536 half values widens and narrows back to itself (NaN stays NaN).
TEST(Half, Fp16RoundTripsEveryValue) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = fp16_to_f32(uint16_t(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(fp16_to_f32(f32_to_fp16(f))));
      continue;
    }
    EXPECT_EQ(f32_to_fp16(f), h) << h;
  }
}

// Independently derived values: 1 = 0x3c00, the largest half 65504 = 0x7bff, the smallest
// subnormal 2^-24 = 0x0001, and ties round to even.
TEST(Half, Fp16KnownValues) {
  EXPECT_EQ(f32_to_fp16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_fp16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_fp16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_fp16(65520.0f), 0x7c00);  // halfway to the next power: rounds to inf
  EXPECT_EQ(f32_to_fp16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(f32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);         // tie, rounds to even (0)
  EXPECT_EQ(f32_to_fp16(std::ldexp(3.0f, -25)), 0x0002);         // tie 1.5 ulp -> 2
  EXPECT_EQ(f32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie -> even
  EXPECT_EQ(f32_to_fp16(1.0f + std::ldexp(3.0f, -11)), 0x3c02);
  EXPECT_FLOAT_EQ(fp16_to_f32(0x3555), 0.333251953125f);
}

TEST(Half, Bf16) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x4049), 3.140625f);
  // 1 + 2^-8 is a tie between 0x3f80 and 0x3f81: even wins.
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(3.0f, -8)), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

}  // namespace
}  // namespace onprem::core
