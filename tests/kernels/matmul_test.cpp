#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <gtest/gtest.h>

#include "kernel_test_util.h"
#include "kernels/matmul.h"

namespace onprem::kernels {
namespace {

using core::GgmlType;
using namespace test;

// matmat = the per-row dot of the same table, for any thread count, float and int8 activations,
// for a few tokens (token groups) and for a prompt long enough for the packed row blocks
// (kGemmMinTokens and more; 37 rows end in a partial block).
using Matmul = PerIsa;
ONPREM_PER_ISA(Matmul);

TEST_P(Matmul, MatmatIsTheRowDotForAnyThreadCount) {
  std::mt19937 rng(5);
  for (const Kernels* k : {&table()}) {
    for (GgmlType t :
         {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ3_K,
          GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K, GgmlType::kIQ4_XS, GgmlType::kMXFP4}) {
      for (const int64_t tokens : {int64_t(5), kGemmMinTokens + 3}) {
        const int64_t n = 512, rows = 37;
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
              act_converter(*k, k->of(t).act_type)(X.data() + tk * n, xq.data(), n);
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
            EXPECT_EQ(got, want) << isa_name(k->isa) << " threads " << threads << " type " << int(t) << " acts "
                                 << int(acts);
            std::vector<float> y(static_cast<size_t>(rows));
            matvec(*k, w, X.data(), y.data(), acts, scratch.data(), &pool);
            EXPECT_TRUE(std::equal(y.begin(), y.end(), want.begin()));
          }
        }
      }
    }
  }
}

// A group of products of the same X (weights of four formats, three activation formats, row
// counts that do not fill a block) gives each output exactly what its own matmat gives, for any
// thread count; the scratch it asks for holds X once per format.
TEST_P(Matmul, GroupIsEachProductBitForBit) {
  std::mt19937 rng(9);
  const Kernels& k = table();
  const int64_t n = 512;
  const GgmlType types[] = {GgmlType::kQ4_K, GgmlType::kF32, GgmlType::kQ8_0, GgmlType::kQ6_K, GgmlType::kF16};
  const int64_t row_counts[] = {37, 5, 16, 70, 3};
  std::vector<std::vector<uint8_t>> weights;
  std::vector<MatmulOut> group;
  for (size_t i = 0; i < std::size(types); ++i) {
    std::vector<uint8_t> W;
    for (int64_t r = 0; r < row_counts[i]; ++r) {
      auto row = random_row(types[i], n, rng);
      W.insert(W.end(), row.begin(), row.end());
    }
    weights.push_back(std::move(W));
  }
  for (const int64_t tokens : {int64_t(1), int64_t(5), kGemmMinTokens + 3}) {
    const auto X = random_floats(n * tokens, rng);
    for (Activations acts : {Activations::kFloat, Activations::kInt8}) {
      std::vector<std::vector<float>> want, got;
      group.clear();
      int64_t single_bytes = 0, widest_single = 0;
      for (size_t i = 0; i < std::size(types); ++i) {
        const MatrixView w{weights[i].data(), types[i], n, row_counts[i]};
        std::vector<uint8_t> scratch(size_t(matmul_scratch_bytes(k, w, tokens, acts)) + 1);
        single_bytes += matmul_scratch_bytes(k, w, tokens, acts);
        widest_single = std::max(widest_single, matmul_scratch_bytes(k, w, tokens, acts));
        want.emplace_back(size_t(row_counts[i] * tokens));
        matmat(k, w, X.data(), tokens, want.back().data(), acts, scratch.data(), nullptr);
        got.emplace_back(size_t(row_counts[i] * tokens), -1.0f);
        group.push_back(MatmulOut{w, nullptr});
      }
      for (size_t i = 0; i < group.size(); ++i) group[i].y = got[i].data();
      const int64_t bytes = matmul_group_scratch_bytes(k, group, tokens, acts);
      // Q4_K and Q6_K share Q8_K activations: the group converts X three times, not four.
      if (acts == Activations::kInt8)
        EXPECT_LT(bytes, single_bytes);
      else
        EXPECT_EQ(bytes, 0);
      for (int threads : {1, 2, 3}) {
        core::ThreadPool pool(threads);
        std::vector<uint8_t> scratch(size_t(bytes) + 1);
        for (auto& g : got) std::fill(g.begin(), g.end(), -1.0f);
        matmat_group(k, group, X.data(), tokens, acts, scratch.data(), bytes, &pool);
        for (size_t i = 0; i < group.size(); ++i)
          EXPECT_EQ(got[i], want[i]) << isa_name(k.isa) << " product " << i << " tokens " << tokens << " threads "
                                     << threads << " acts " << int(acts);
      }
      // A scratch that holds one product's conversion but not the group's: one product at a time.
      if (widest_single < bytes) {
        std::vector<uint8_t> scratch(size_t(widest_single) + 1);
        for (auto& g : got) std::fill(g.begin(), g.end(), -1.0f);
        matmat_group(k, group, X.data(), tokens, acts, scratch.data(), widest_single, nullptr);
        for (size_t i = 0; i < group.size(); ++i) EXPECT_EQ(got[i], want[i]) << "one at a time, product " << i;
      }
    }
  }
}

// Weights repacked in groups (TypeKernels::packed_rows) give, through matmat and matmat_group,
// exactly the file layout's results of the same table, for every token count (1 to 4 at once,
// the leftovers, and a prompt) and thread count, and for groups beside unpacked products. The
// packed group keeps the rows' bytes: a view into it at a multiple of the group stays valid.
TEST_P(Matmul, RepackedGroupsAreTheFileLayoutBitForBit) {
  std::mt19937 rng(13);
  const Kernels& k = table();
  int tested = 0;
  for (uint32_t id = 0; id < std::size(k.types); ++id) {
    const TypeKernels& tk = k.types[id];
    if (!tk.packed_rows) continue;
    ASSERT_TRUE(tk.pack_rows && tk.packed_product && tk.dot_q8) << "type " << id;
    ++tested;
    const auto t = GgmlType(id);
    const int64_t n = 768, rows = 3 * tk.packed_rows, R = tk.packed_rows;
    std::vector<uint8_t> W;
    for (int64_t r = 0; r < rows; ++r) {
      auto row = random_row(t, n, rng);
      W.insert(W.end(), row.begin(), row.end());
    }
    const MatrixView file{W.data(), t, n, rows};
    const int64_t rb = file.row_bytes();
    std::vector<uint8_t> P(W.size());
    for (int64_t g = 0; g < rows; g += R) tk.pack_rows(W.data() + g * rb, rb, n, P.data() + g * rb);
    EXPECT_NE(P, W);
    MatrixView packed = file;
    packed.data = P.data(), packed.packed_rows = int(R);
    for (const int64_t tokens : {int64_t(1), int64_t(2), int64_t(3), int64_t(7), kGemmMinTokens + 3}) {
      const auto X = random_floats(n * tokens, rng);
      std::vector<float> want(size_t(rows * tokens)), got(want.size());
      std::vector<uint8_t> scratch(size_t(matmul_scratch_bytes(k, file, tokens, Activations::kInt8)) + 1);
      matmat(k, file, X.data(), tokens, want.data(), Activations::kInt8, scratch.data(), nullptr);
      for (int threads : {1, 2, 3}) {
        core::ThreadPool pool(threads);
        std::fill(got.begin(), got.end(), -1.0f);
        matmat(k, packed, X.data(), tokens, got.data(), Activations::kInt8, scratch.data(), &pool);
        EXPECT_EQ(got, want) << isa_name(k.isa) << " type " << id << " tokens " << tokens << " threads " << threads;
      }
      // The second group alone (a view at R rows) beside the unpacked file, in one dispatch.
      MatrixView second = packed;
      second.data += R * rb, second.n_rows = R;
      std::vector<float> g1(size_t(R * tokens)), g2(want.size());
      const MatmulOut outs[] = {{second, g1.data()}, {file, g2.data()}};
      const int64_t bytes = matmul_group_scratch_bytes(k, outs, tokens, Activations::kInt8);
      std::vector<uint8_t> gs(size_t(bytes) + 1);
      core::ThreadPool pool(2);
      matmat_group(k, outs, X.data(), tokens, Activations::kInt8, gs.data(), bytes, &pool);
      EXPECT_EQ(g2, want);
      for (int64_t tt = 0; tt < tokens; ++tt)
        for (int64_t r = 0; r < R; ++r)
          EXPECT_EQ(g1[size_t(tt * R + r)], want[size_t(tt * rows + R + r)]) << "token " << tt << " row " << r;
    }
  }
  if (!tested) GTEST_SKIP() << isa_name(k.isa) << " keeps every type in the file's layout";
}

// The engine's table is the one ONPREM_ISA names, else the widest the CPU runs; every table
// has a dot kernel for every supported type.
TEST(Dispatch, BestTableIsTheChosenOne) {
  const Kernels& best = best_kernels();
  std::printf("chosen kernel path: %s on %s (%s)\n", isa_name(best.isa), cpu_info().model.c_str(),
              cpu_info().arch.c_str());
  ASSERT_TRUE(chosen_isa().ok());
  EXPECT_EQ(best.isa, *chosen_isa());
  EXPECT_TRUE(cpu_supports(best.isa));
  const char* env = std::getenv("ONPREM_ISA");
  if (!env || !*env) {
    EXPECT_EQ(best.isa, widest_isa());
  }
  for (Isa isa : built_isas()) {
    const Kernels* k = kernels_for(isa);
    EXPECT_EQ(k != nullptr, cpu_supports(isa)) << isa_name(isa);
    if (!k) continue;
    for (GgmlType t : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ4_0, GgmlType::kQ8_0,
                       GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K})
      EXPECT_NE(k->of(t).dot_f32, nullptr) << isa_name(isa);
  }
}

// widest_isa() is the widest of its family the CPU runs: no wider table of the build is supported.
TEST(Dispatch, WidestIsWidest) {
  const auto built = built_isas();
  const auto at = std::find(built.begin(), built.end(), widest_isa());
  ASSERT_NE(at, built.end());
  for (auto it = at + 1; it != built.end(); ++it) EXPECT_FALSE(cpu_supports(*it)) << isa_name(*it);
}

// ONPREM_ISA: a name onprem does not know, or an ISA this CPU lacks, is refused with a message
// that says why and what the CPU runs; one it has is taken.
TEST(Dispatch, OnpremIsaIsCheckedAgainstTheCpu) {
  const char* old = std::getenv("ONPREM_ISA");
  const std::string saved = old ? old : "";
  setenv("ONPREM_ISA", "sse9", 1);
  auto bad = chosen_isa();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("not an instruction set"), std::string::npos) << bad.error().message;
  // An ISA of the other architecture is never runnable.
  const Isa foreign = cpu_info().arch == "aarch64" ? Isa::kAvx2 : Isa::kNeon;
  setenv("ONPREM_ISA", isa_name(foreign), 1);
  auto lacks = chosen_isa();
  ASSERT_FALSE(lacks.ok());
  EXPECT_NE(lacks.error().message.find(isa_requirements(foreign)), std::string::npos) << lacks.error().message;
  EXPECT_NE(lacks.error().message.find("scalar"), std::string::npos) << lacks.error().message;
  for (Isa isa : built_isas()) {
    setenv("ONPREM_ISA", isa_name(isa), 1);
    auto got = chosen_isa();
    EXPECT_EQ(got.ok(), cpu_supports(isa)) << isa_name(isa);
    if (got.ok()) {
      EXPECT_EQ(*got, isa);
    }
  }
  if (old)
    setenv("ONPREM_ISA", saved.c_str(), 1);
  else
    unsetenv("ONPREM_ISA");
}

}  // namespace
}  // namespace onprem::kernels
