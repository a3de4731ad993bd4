#include <gtest/gtest.h>

#include "kernel_test_util.h"
#include "kernels/matmul.h"

namespace onprem::kernels {
namespace {

using core::GgmlType;
using namespace test;

// matmat = the per-row dot of the same table, for any thread count, float and int8 activations.
TEST(Matmul, MatmatIsTheRowDotForAnyThreadCount) {
  std::mt19937 rng(5);
  for (const Kernels* k : runnable_tables()) {
    for (GgmlType t : {GgmlType::kF32, GgmlType::kQ8_0, GgmlType::kQ4_K, GgmlType::kQ6_K}) {
      const int64_t n = 512, rows = 37, tokens = 5;
      std::vector<uint8_t> W;
      for (int64_t r = 0; r < rows; ++r) {
        auto row = random_row(t, n, rng);
        W.insert(W.end(), row.begin(), row.end());
      }
      MatrixView w{W.data(), t, n, rows};
      const auto X = random_floats(n * tokens, rng);
      for (Activations acts : {Activations::kFloat, Activations::kInt8}) {
        std::vector<float> want(size_t(rows * tokens));
        std::vector<uint8_t> xq(size_t(act_bytes(k->of(t).act_type, n)));
        for (int64_t tk = 0; tk < tokens; ++tk) {
          const bool int8 = acts == Activations::kInt8 && k->of(t).dot_q8;
          if (int8) {
            (k->of(t).act_type == GgmlType::kQ8_K ? k->quantize_q8_k : k->quantize_q8_0)(X.data() + tk * n, xq.data(), n);
          }
          for (int64_t r = 0; r < rows; ++r)
            want[size_t(tk * rows + r)] = int8 ? k->of(t).dot_q8(W.data() + r * w.row_bytes(), xq.data(), n)
                                               : k->of(t).dot_f32(W.data() + r * w.row_bytes(), X.data() + tk * n, n);
        }
        for (int threads : {1, 2, 3}) {
          core::ThreadPool pool(threads);
          std::vector<uint8_t> scratch(size_t(matmul_scratch_bytes(*k, w, tokens, acts)));
          std::vector<float> got(size_t(rows * tokens));
          matmat(*k, w, X.data(), tokens, got.data(), acts, scratch.data(), &pool);
          EXPECT_EQ(got, want) << isa_name(k->isa) << " threads " << threads << " type " << int(t) << " acts " << int(acts);
          std::vector<float> y(static_cast<size_t>(rows));
          matvec(*k, w, X.data(), y.data(), acts, scratch.data(), &pool);
          EXPECT_TRUE(std::equal(y.begin(), y.end(), want.begin()));
        }
      }
    }
  }
}

TEST(Dispatch, BestTableIsTheWidestTheCpuRuns) {
  const Kernels& best = best_kernels();
  EXPECT_TRUE(cpu_supports(best.isa));
  if (cpu_supports(Isa::kAvx512)) {
    EXPECT_EQ(best.isa, Isa::kAvx512);
  }
  for (const Kernels* k : runnable_tables())
    for (GgmlType t : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ4_0, GgmlType::kQ8_0,
                       GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K})
      EXPECT_NE(k->of(t).dot_f32, nullptr);
}

}  // namespace
}  // namespace onprem::kernels
