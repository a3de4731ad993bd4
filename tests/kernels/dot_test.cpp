// Every dot kernel of every table this CPU runs, against the scalar reference, over swept lengths,
// block counts and misaligned pointers. Tolerances follow from f32 rounding: a sum of n products
// kept in f32 is within about n * 2^-24 * Σ|w_i x_i| of the exact (double) value.
#include <bit>
#include <cmath>

#include <gtest/gtest.h>

#include "kernel_test_util.h"
#include "quant/dequant.h"

namespace onprem::kernels {
namespace {

using core::GgmlType;
using namespace test;

const GgmlType kTypes[] = {
    GgmlType::kF32,   GgmlType::kF16,     GgmlType::kBF16,   GgmlType::kQ4_0,  GgmlType::kQ4_1,    GgmlType::kQ5_0,
    GgmlType::kQ5_1,  GgmlType::kQ8_0,    GgmlType::kQ2_K,   GgmlType::kQ3_K,  GgmlType::kQ4_K,    GgmlType::kQ5_K,
    GgmlType::kQ6_K,  GgmlType::kIQ4_NL,  GgmlType::kIQ4_XS, GgmlType::kMXFP4, GgmlType::kIQ2_XXS, GgmlType::kIQ2_XS,
    GgmlType::kIQ2_S, GgmlType::kIQ3_XXS, GgmlType::kIQ3_S,  GgmlType::kIQ1_S, GgmlType::kIQ1_M};

// Σ|w_i x_i| plus, for Q4_K/Q5_K, Σ|dmin·m·x_i| (the two terms can cancel).
double magnitude(GgmlType t, const uint8_t* row, const float* x, int64_t n) {
  std::vector<float> w(static_cast<size_t>(n));
  quant::dequantizer(t)(row, w.data(), n);
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m += std::fabs(double(w[size_t(i)]) * x[i]);
  if (t == GgmlType::kQ4_K || t == GgmlType::kQ5_K) {
    const int bb = t == GgmlType::kQ4_K ? 144 : 176;
    std::vector<uint8_t> mins(row, row + n / 256 * bb);
    for (int64_t b = 0; b < n / 256; ++b)
      mins[size_t(b * bb)] = mins[size_t(b * bb + 1)] = 0;  // d = 0: only -dmin·m left
    quant::dequantizer(t)(mins.data(), w.data(), n);
    for (int64_t i = 0; i < n; ++i) m += std::fabs(double(w[size_t(i)]) * x[i]);
  }
  return m;
}

std::vector<int64_t> lengths(GgmlType t) {
  const int64_t bs = core::ggml_type_info(uint32_t(t))->block_size;
  std::vector<int64_t> out;
  if (bs == 1) {
    for (int64_t n = 0; n <= 72; ++n) out.push_back(n);  // 0 .. 2x the widest lanes + tails
    for (int64_t n : {100, 255, 1000, 4097}) out.push_back(n);
  } else {
    for (int64_t b = 1; b <= 9; ++b) out.push_back(b * bs);
    out.push_back(17 * bs);
  }
  return out;
}

using Dot = PerIsa;
ONPREM_PER_ISA(Dot);

TEST_P(Dot, F32ActivationsMatchTheReference) {
  const Kernels& ref = *kernels_for(Isa::kScalar);
  std::mt19937 rng(1);
  int checked = 0;
  for (const Kernels* k : {&table()}) {
    for (GgmlType t : kTypes) {
      for (int64_t n : lengths(t)) {
        for (int mis = 0; mis < 4; ++mis) {
          // Weights shifted by 2 bytes (their alignment contract), activations by `mis` floats.
          auto row = random_row(t, n, rng);
          std::vector<uint8_t> wbuf(row.size() + 2 * size_t(mis) + 2);
          std::memcpy(wbuf.data() + 2 * mis, row.data(), row.size());
          const auto xv = random_floats(n + mis, rng);
          const float* x = xv.data() + mis;
          const float want = ref.of(t).dot_f32(row.data(), x, n);
          const float got = k->of(t).dot_f32(wbuf.data() + 2 * mis, x, n);
          const double tol = double(n + 64) * kU * magnitude(t, row.data(), x, n) + 1e-30;
          ASSERT_LE(std::fabs(double(got) - want), tol)
              << isa_name(k->isa) << " " << core::ggml_type_info(uint32_t(t))->name << " n=" << n << " mis=" << mis;
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

TEST_P(Dot, Int8ActivationsMatchTheReference) {
  const Kernels& ref = *kernels_for(Isa::kScalar);
  std::mt19937 rng(2);
  for (const Kernels* k : {&table()}) {
    for (GgmlType t : kTypes) {
      const TypeKernels& tk = k->of(t);
      if (!ref.of(t).dot_q8) continue;
      ASSERT_NE(tk.dot_q8, nullptr);
      for (int64_t n : lengths(t)) {
        for (int mis = 0; mis < 2; ++mis) {
          auto row = random_row(t, n, rng);
          std::vector<uint8_t> wbuf(row.size() + 2);
          std::memcpy(wbuf.data() + 2 * mis, row.data(), row.size());
          const auto x = random_floats(n, rng);
          std::vector<uint8_t> xq(size_t(act_bytes(tk.act_type, n)) + 4);
          act_converter(ref, tk.act_type)(x.data(), xq.data(), n);
          std::vector<float> xd(static_cast<size_t>(n));
          quant::dequantizer(tk.act_type)(xq.data(), xd.data(), n);
          const float want = ref.of(t).dot_q8(row.data(), xq.data(), n);
          const float got = tk.dot_q8(wbuf.data() + 2 * mis, xq.data(), n);
          const double tol = double(n / 32 + 16) * 2 * kU * magnitude(t, row.data(), xd.data(), n) + 1e-30;
          ASSERT_LE(std::fabs(double(got) - want), tol)
              << isa_name(k->isa) << " " << core::ggml_type_info(uint32_t(t))->name << " n=" << n;
          // And the int8 path approximates the float path (activation rounding only: each x_i
          // moves by at most half a step of its block scale).
          const float exact = ref.of(t).dot_f32(row.data(), x.data(), n);
          EXPECT_LE(std::fabs(double(got) - exact), 0.02 * magnitude(t, row.data(), x.data(), n) + 1e-6);
        }
      }
    }
  }
}

}  // namespace
}  // namespace onprem::kernels

namespace onprem::kernels {
namespace {

// The multi-token dot gives, for each token, the bits of the single-token dot of the same table
// (the same integer sums, then the same float operations per token), so matmat may group tokens
// any way without changing a result.
using test::PerIsa;
using Dot = PerIsa;

TEST_P(Dot, MultiTokenInt8IsBitIdenticalToSingleToken) {
  std::mt19937 rng(12);
  int checked = 0;
  for (const Kernels* k : {&table()}) {
    for (GgmlType t : kTypes) {
      const TypeKernels& tk = k->of(t);
      if (!tk.dot_q8_multi) continue;
      for (int64_t n : {256, 512, 2048}) {
        const auto row = test::random_row(t, n, rng);
        const int mt = tk.multi_tokens;
        ASSERT_GE(mt, 1);
        ASSERT_LE(mt, kMaxDotTokens);
        std::vector<std::vector<uint8_t>> xq(static_cast<size_t>(mt));
        const void* xs[kMaxDotTokens];
        for (int j = 0; j < mt; ++j) {
          const auto x = test::random_floats(n, rng);
          xq[size_t(j)].resize(size_t(act_bytes(tk.act_type, n)));
          act_converter(*k, tk.act_type)(x.data(), xq[size_t(j)].data(), n);
          xs[j] = xq[size_t(j)].data();
        }
        float out[kMaxDotTokens];
        tk.dot_q8_multi(row.data(), xs, n, out);
        for (int j = 0; j < mt; ++j) {
          const float one = tk.dot_q8(row.data(), xs[j], n);
          EXPECT_EQ(std::bit_cast<uint32_t>(out[j]), std::bit_cast<uint32_t>(one))
              << isa_name(k->isa) << " " << core::ggml_type_info(uint32_t(t))->name << " n=" << n << " token " << j
              << ": " << out[j] << " vs " << one;
          ++checked;
        }
      }
    }
  }
  // Every table but the scalar reference has token groups (i8mm pairs rows and tokens instead).
  if (GetParam() != Isa::kScalar && GetParam() != Isa::kI8mm) {
    EXPECT_GT(checked, 0);
  }
}

// The two-row kernels (ARM64 i8mm) give, for each of the four pairs, the bits of the table's
// single-row dot: matmat may pair rows and tokens any way without changing a result.
TEST_P(Dot, TwoByTwoInt8IsBitIdenticalToSingleDots) {
  std::mt19937 rng(13);
  int checked = 0;
  for (const Kernels* k : {&table()}) {
    for (GgmlType t : kTypes) {
      const TypeKernels& tk = k->of(t);
      if (!tk.dot_q8_2x2) continue;
      for (int64_t n : lengths(t)) {
        const auto w0 = test::random_row(t, n, rng), w1 = test::random_row(t, n, rng);
        std::vector<uint8_t> x[2];
        for (auto& xq : x) {
          const auto xf = test::random_floats(n, rng);
          xq.resize(size_t(act_bytes(tk.act_type, n)));
          act_converter(*k, tk.act_type)(xf.data(), xq.data(), n);
        }
        float out[4];
        tk.dot_q8_2x2(w0.data(), w1.data(), x[0].data(), x[1].data(), n, out);
        const float want[4] = {tk.dot_q8(w0.data(), x[0].data(), n), tk.dot_q8(w0.data(), x[1].data(), n),
                               tk.dot_q8(w1.data(), x[0].data(), n), tk.dot_q8(w1.data(), x[1].data(), n)};
        for (int j = 0; j < 4; ++j)
          ASSERT_EQ(out[j], want[j]) << isa_name(k->isa) << " " << core::ggml_type_info(uint32_t(t))->name << " n=" << n
                                     << " j=" << j;
        ++checked;
      }
    }
  }
  if (GetParam() == Isa::kI8mm) {  // the table with two-row kernels
    EXPECT_GT(checked, 0);
  }
}

// The SIMD activation quantisers are bit-identical to the reference: same codes, sums and scale,
// including ties for the largest magnitude (+a and -a), rounding halves, zeros, NaN and infinity.
using Quantize = PerIsa;
ONPREM_PER_ISA(Quantize);

TEST_P(Quantize, ActivationsQ8KMatchTheReferenceBitForBit) {
  std::mt19937 rng(5);
  const Kernels& ref = *kernels_for(Isa::kScalar);
  int checked = 0;
  for (const Kernels* k : {&table()}) {
    for (int trial = 0; trial < 200; ++trial) {
      const int64_t n = 256 * (1 + trial % 4);
      auto x = test::random_floats(n, rng);
      if (trial % 5 == 1) x[3] = -2.5f, x[7] = 2.5f;  // tie: first one wins
      if (trial % 5 == 2)
        for (int64_t i = 0; i < n; ++i) x[size_t(i)] = std::round(x[size_t(i)] * 4) / 4;  // halves
      if (trial % 5 == 3) std::fill(x.begin(), x.begin() + 256, 0.0f);                    // an all-zero block
      if (trial % 5 == 4) x[11] = std::nanf(""), x[300 % n] = INFINITY;
      std::vector<uint8_t> a(size_t(act_bytes(GgmlType::kQ8_K, n))), b(a.size());
      ref.quantize_q8_k(x.data(), a.data(), n);
      k->quantize_q8_k(x.data(), b.data(), n);
      ASSERT_EQ(a, b) << isa_name(k->isa) << " trial " << trial;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}

}  // namespace
}  // namespace onprem::kernels
