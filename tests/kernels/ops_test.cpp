// Element-wise ops of every table against the scalar reference. Tolerances: a few ulp for the
// transcendental functions (our exp/log polynomials are within ~2 ulp), n ulp for sums.
#include <cmath>

#include <gtest/gtest.h>

#include "kernel_test_util.h"

namespace onprem::kernels {
namespace {

using namespace test;

std::vector<int64_t> lengths() {
  std::vector<int64_t> out;
  for (int64_t n = 1; n <= 40; ++n) out.push_back(n);
  for (int64_t n : {100, 256, 1000}) out.push_back(n);
  return out;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rel, double abs,
                  const char* what, const Kernels* k, int64_t n) {
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_LE(std::fabs(double(got[i]) - want[i]), rel * std::fabs(double(want[i])) + abs)
        << what << " " << isa_name(k->isa) << " n=" << n << " i=" << i << " x-got " << got[i] << " want " << want[i];
}

using Ops = PerIsa;
ONPREM_PER_ISA(Ops);

TEST_P(Ops, UnaryOpsMatchTheReference) {
  const Kernels& ref = *kernels_for(Isa::kScalar);
  std::mt19937 rng(3);
  for (const Kernels* k : {&table()}) {
    for (int64_t n : lengths()) {
      for (int mis = 0; mis < 3; ++mis) {
        // Wide inputs reach the clamping ranges of exp (-87, 88) and the softplus cut-off (20).
        auto xv = random_floats(n + mis, rng, 12.0f);
        if (n > 3) xv[size_t(mis)] = -95.0f, xv[size_t(mis + 1)] = 95.0f, xv[size_t(mis + 2)] = 0.0f;
        const float* x = xv.data() + mis;
        std::vector<float> got(static_cast<size_t>(n)), want(static_cast<size_t>(n));
        const double tight = 8 * kU, abs_tiny = 1e-37;
        ref.silu(x, want.data(), n), k->silu(x, got.data(), n);
        expect_close(got, want, tight, abs_tiny, "silu", k, n);
        ref.sigmoid(x, want.data(), n), k->sigmoid(x, got.data(), n);
        expect_close(got, want, tight, abs_tiny, "sigmoid", k, n);
        ref.softplus(x, want.data(), n), k->softplus(x, got.data(), n);
        expect_close(got, want, tight, abs_tiny, "softplus", k, n);
        const auto u = random_floats(n, rng);
        ref.swiglu(x, u.data(), want.data(), n), k->swiglu(x, u.data(), got.data(), n);
        expect_close(got, want, tight, abs_tiny, "swiglu", k, n);
        ref.softmax(x, want.data(), n), k->softmax(x, got.data(), n);
        expect_close(got, want, double(n + 8) * kU, abs_tiny, "softmax", k, n);
      }
    }
  }
}

TEST_P(Ops, NormsMatchTheReference) {
  const Kernels& ref = *kernels_for(Isa::kScalar);
  std::mt19937 rng(4);
  for (const Kernels* k : {&table()}) {
    for (int64_t n : lengths()) {
      for (int mis = 0; mis < 3; ++mis) {
        const auto xv = random_floats(n + mis, rng, 3.0f);
        const auto w = random_floats(n, rng);
        const float* x = xv.data() + mis;
        std::vector<float> got(static_cast<size_t>(n)), want(static_cast<size_t>(n));
        const double rel = double(n + 8) * kU;
        ref.rms_norm(x, w.data(), want.data(), n, 1e-6f), k->rms_norm(x, w.data(), got.data(), n, 1e-6f);
        expect_close(got, want, rel, 0, "rms_norm", k, n);
        ref.rms_norm(x, nullptr, want.data(), n, 1e-6f), k->rms_norm(x, nullptr, got.data(), n, 1e-6f);
        expect_close(got, want, rel, 0, "rms_norm (no weight)", k, n);
        ref.l2_norm(x, want.data(), n, 1e-6f), k->l2_norm(x, got.data(), n, 1e-6f);
        expect_close(got, want, rel, 0, "l2_norm", k, n);
      }
    }
  }
}

// The delta-rule step is bit-identical across tables (its sums have a fixed lane order), and the
// reference agrees with a double-precision evaluation of the same recurrence.
TEST_P(Ops, DeltaRuleStepIsBitIdenticalAndMatchesDouble) {
  const Kernels& ref = *kernels_for(Isa::kScalar);
  std::mt19937 rng(9);
  for (const Kernels* k : {&table()}) {
    for (int64_t dk : {16, 40, 128}) {
      const int64_t dv = dk == 40 ? 24 : dk;
      auto S0 = random_floats(dk * dv, rng);
      std::vector<float> Sa = S0, Sb = S0, oa(static_cast<size_t>(dv)), ob(oa.size());
      std::vector<double> Sd;
      for (int step = 0; step < 20; ++step) {
        auto kk = random_floats(dk, rng), q = random_floats(dk, rng), v = random_floats(dv, rng);
        const float beta = 0.3f + 0.03f * float(step), decay = 0.9f;
        Sd.assign(Sa.begin(), Sa.end());  // one step in double from the same f32 state
        ref.delta_rule_step(Sa.data(), kk.data(), q.data(), v.data(), beta, decay, dk, dv, oa.data());
        k->delta_rule_step(Sb.data(), kk.data(), q.data(), v.data(), beta, decay, dk, dv, ob.data());
        ASSERT_EQ(Sa, Sb) << isa_name(k->isa) << " dk=" << dk;
        ASSERT_EQ(oa, ob) << isa_name(k->isa) << " dk=" << dk;
        for (int64_t c = 0; c < dv; ++c) {
          double sk = 0, sq = 0;
          for (int64_t i = 0; i < dk; ++i)
            Sd[size_t(c * dk + i)] *= decay, sk += Sd[size_t(c * dk + i)] * kk[size_t(i)];
          const double delta = beta * (v[size_t(c)] - sk);
          for (int64_t i = 0; i < dk; ++i)
            Sd[size_t(c * dk + i)] += delta * kk[size_t(i)], sq += Sd[size_t(c * dk + i)] * q[size_t(i)];
          ASSERT_NEAR(oa[size_t(c)], sq, 1e-4 * (1 + std::fabs(sq))) << "dk=" << dk << " step " << step;
        }
      }
    }
  }
}

// Attention against softmax(scale * q.K) V in double precision, query by query: blocks that
// start in and beyond the first key tile, tiles cut by the causal edge, GQA groups, head sizes
// that are not a multiple of any vector width, and scores large enough to need the running
// maximum (a key far above the others in a later tile).
TEST_P(Ops, AttentionMatchesExactSoftmax) {
  std::mt19937 rng(17);
  const Kernels& k = table();
  if (k.isa != Isa::kScalar && k.attention == kernels_for(Isa::kScalar)->attention)
    GTEST_SKIP() << isa_name(k.isa) << " runs the scalar table's attention, tested there";
  for (int64_t D : {16, 40, 64, 256}) {
    for (int64_t heads : {1, 2, 4}) {
      for (int64_t rows : {1, 3, 16}) {
        for (int64_t n_kv0 : {1, 5, 64, 65, 200}) {
          const int64_t n_keys = n_kv0 + rows - 1, kv_stride = 2 * D + 3;  // keys interleaved with other data
          auto kv = random_floats(n_keys * kv_stride + D, rng, 2.0f);
          const float* K = kv.data();
          const float* V = kv.data() + D;
          if (n_keys > 70) kv[size_t(70 * kv_stride)] = 40.0f;  // one dominant key in the second tile
          const int64_t q_head = D + 5, q_row = heads * q_head + 7, o_head = D, o_row = heads * D;
          auto q = random_floats(rows * q_row, rng, 2.0f);
          std::vector<float> o(size_t(rows * o_row), -1.0f);
          std::vector<float> scratch(size_t(attention_scratch_floats(rows * heads, D)), 12345.0f);
          AttentionBlock b;
          b.q = q.data(), b.q_row = q_row, b.q_head = q_head, b.o = o.data(), b.o_row = o_row, b.o_head = o_head;
          b.rows = rows, b.heads = heads, b.k = K, b.v = V, b.kv_stride = kv_stride, b.n_kv0 = n_kv0, b.d = D;
          b.scale = 1.0f / std::sqrt(float(D));
          k.attention(b, scratch.data());
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t h = 0; h < heads; ++h) {
              const float* qv = q.data() + r * q_row + h * q_head;
              const int64_t n = n_kv0 + r;
              std::vector<double> s(static_cast<size_t>(n));
              double mx = -1e300, sum = 0, vmax = 0;
              for (int64_t j = 0; j < n; ++j) {
                double dot = 0;
                for (int64_t d = 0; d < D; ++d) dot += double(qv[d]) * K[j * kv_stride + d];
                s[size_t(j)] = dot * b.scale, mx = std::max(mx, s[size_t(j)]);
              }
              for (int64_t j = 0; j < n; ++j) s[size_t(j)] = std::exp(s[size_t(j)] - mx), sum += s[size_t(j)];
              for (int64_t d = 0; d < D; ++d) {
                double want = 0;
                for (int64_t j = 0; j < n; ++j) {
                  want += s[size_t(j)] / sum * V[j * kv_stride + d];
                  vmax = std::max(vmax, std::fabs(double(V[j * kv_stride + d])));
                }
                const double got = o[size_t(r * o_row + h * o_head + d)];
                // Outputs are averages of V: the error is bounded by the rounding of n + D terms.
                ASSERT_NEAR(got, want, double(n + D) * 8 * kU * vmax)
                    << isa_name(k.isa) << " D=" << D << " heads=" << heads << " rows=" << rows << " n_kv0=" << n_kv0
                    << " r=" << r << " h=" << h << " d=" << d;
              }
            }
        }
      }
    }
  }
}

// Independently derived values, not just agreement between variants.
TEST_P(Ops, KnownValues) {
  for (const Kernels* k : {&table()}) {
    const float x[4] = {0.0f, 25.0f, -30.0f, 1.0f};
    float y[4];
    k->softplus(x, y, 4);
    EXPECT_NEAR(y[0], std::log(2.0), 1e-7);
    EXPECT_EQ(y[1], 25.0f);                     // the x > 20 cut-off
    EXPECT_NEAR(y[2], std::exp(-30.0), 1e-19);  // ln(1 + e^-30) ≈ e^-30
    EXPECT_NEAR(y[3], std::log1p(std::exp(1.0)), 1e-6);
    const float v[3] = {3.0f, 4.0f, 0.0f};
    k->l2_norm(v, y, 3, 1e-6f);
    EXPECT_NEAR(y[0], 0.6f, 1e-7);
    EXPECT_NEAR(y[1], 0.8f, 1e-7);
    const float z[2] = {0.0f, 0.0f};
    k->l2_norm(z, y, 2, 1e-6f);  // max(norm, eps) keeps zero vectors finite
    EXPECT_EQ(y[0], 0.0f);
    const float s[3] = {1.0f, 1.0f, 1.0f};
    k->softmax(s, y, 3);
    EXPECT_NEAR(y[2], 1.0 / 3, 1e-7);
  }
}

}  // namespace
}  // namespace onprem::kernels
