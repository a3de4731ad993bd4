// Shared test helpers: one test per kernel table, and random rows of each stored type.
#pragma once

#include <cstring>
#include <ostream>
#include <string>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/half.h"
#include "kernels/kernels.h"
#include "quant/blocks.h"

namespace onprem::kernels {
// Test names and failure messages say "avx2", not the enum's bytes.
inline void PrintTo(Isa isa, std::ostream* os) { *os << isa_name(isa); }
}  // namespace onprem::kernels

namespace onprem::kernels::test {

// A test that runs once per table of this build (Isa/Suite.Name/avx2 ...). On a CPU that lacks
// the ISA it is reported as skipped, with the reason, never passed silently.
class PerIsa : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!cpu_supports(GetParam()))
      GTEST_SKIP() << isa_name(GetParam()) << " not run: it needs " << isa_requirements(GetParam()) << "; this CPU ("
                   << cpu_info().model << ") lacks it";
  }
  const Kernels& table() const { return *kernels_for(GetParam()); }
};

inline std::string isa_param_name(const ::testing::TestParamInfo<Isa>& info) { return isa_name(info.param); }

#define ONPREM_PER_ISA(Suite) \
  INSTANTIATE_TEST_SUITE_P(Isa, Suite, ::testing::ValuesIn(built_isas()), ::onprem::kernels::test::isa_param_name)

inline constexpr double kU = 1.0 / 16777216.0;  // f32 unit roundoff, 2^-24

// Random bytes for n values of type t, with every scale field set to a sane finite value.
inline std::vector<uint8_t> random_row(core::GgmlType t, int64_t n, std::mt19937& rng) {
  const auto info = *core::ggml_type_info(uint32_t(t));
  std::vector<uint8_t> row(core::ggml_row_bytes(info, uint64_t(n)));
  for (auto& b : row) b = uint8_t(rng());
  std::uniform_real_distribution<float> u(-1.0f, 1.0f), pos(0.001f, 0.05f);
  const size_t nb = size_t(n) / info.block_size, bb = info.block_bytes;
  auto put_half = [&](size_t at, float v) {
    const uint16_t h = core::f32_to_fp16(v);
    std::memcpy(row.data() + at, &h, 2);
  };
  for (size_t b = 0; b < nb; ++b) {
    const size_t o = b * bb;
    switch (t) {
      case core::GgmlType::kF32: {
        const float v = u(rng);
        std::memcpy(row.data() + o, &v, 4);
        break;
      }
      case core::GgmlType::kF16:
        put_half(o, u(rng));
        break;
      case core::GgmlType::kBF16: {
        const uint16_t h = core::f32_to_bf16(u(rng));
        std::memcpy(row.data() + o, &h, 2);
        break;
      }
      case core::GgmlType::kQ4_0:
      case core::GgmlType::kQ8_0:
        put_half(o, pos(rng));
        break;
      case core::GgmlType::kQ4_K:
      case core::GgmlType::kQ5_K:
        put_half(o, pos(rng)), put_half(o + 2, pos(rng));
        break;
      case core::GgmlType::kQ6_K:
        put_half(o + 208, pos(rng));
        break;
      case core::GgmlType::kQ5_0:
      case core::GgmlType::kIQ4_NL:
      case core::GgmlType::kIQ4_XS:
        put_half(o, pos(rng));
        break;
      case core::GgmlType::kQ4_1:
      case core::GgmlType::kQ5_1:
        put_half(o, pos(rng)), put_half(o + 2, -pos(rng));
        break;
      case core::GgmlType::kQ2_K:
        put_half(o + 80, pos(rng)), put_half(o + 82, pos(rng));
        break;
      case core::GgmlType::kQ3_K:
        put_half(o + 108, pos(rng));
        break;
      case core::GgmlType::kMXFP4:
        row[o] = uint8_t(118 + rng() % 8);
        break;  // scales 2^-10 .. 2^-3
      case core::GgmlType::kIQ2_XXS:
      case core::GgmlType::kIQ2_XS:
      case core::GgmlType::kIQ2_S:
      case core::GgmlType::kIQ3_XXS:
      case core::GgmlType::kIQ3_S:
      case core::GgmlType::kIQ1_S:
        put_half(o, pos(rng));
        break;
      case core::GgmlType::kIQ1_M: {  // the fp16 scale sits in the top 4 bits of the four scale words
        const uint16_t d = core::f32_to_fp16(pos(rng));
        for (int w = 0; w < 4; ++w) {
          uint16_t word;
          std::memcpy(&word, row.data() + o + 48 + 2 * w, 2);
          word = uint16_t((word & 0x0fff) | (((d >> (4 * w)) & 15) << 12));
          std::memcpy(row.data() + o + 48 + 2 * w, &word, 2);
        }
        break;
      }
      default:
        break;
    }
  }
  return row;
}

inline std::vector<float> random_floats(int64_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = nd(rng);
  return x;
}

}  // namespace onprem::kernels::test
