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

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rel, double abs, const char* what,
                  const Kernels* k, int64_t n) {
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
          for (int64_t i = 0; i < dk; ++i) Sd[size_t(c * dk + i)] *= decay, sk += Sd[size_t(c * dk + i)] * kk[size_t(i)];
          const double delta = beta * (v[size_t(c)] - sk);
          for (int64_t i = 0; i < dk; ++i) Sd[size_t(c * dk + i)] += delta * kk[size_t(i)], sq += Sd[size_t(c * dk + i)] * q[size_t(i)];
          ASSERT_NEAR(oa[size_t(c)], sq, 1e-4 * (1 + std::fabs(sq))) << "dk=" << dk << " step " << step;
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
    EXPECT_EQ(y[1], 25.0f);                       // the x > 20 cut-off
    EXPECT_NEAR(y[2], std::exp(-30.0), 1e-19);    // ln(1 + e^-30) ≈ e^-30
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
