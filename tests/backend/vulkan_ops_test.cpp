// Every shader other than matmul and RMSNorm (vulkan_test.cpp) against the CPU: the scalar
// reference kernels where the CPU has one (L2 norm, the delta-rule step), else the formula of
// model.md in double precision. Tolerances come from float arithmetic: a sum of n terms is off by
// at most about n units of 2^-24 of the sum of its terms' magnitudes, and exp, sigmoid and the
// square root by a few units more; they are spelled out at each check.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <random>
#include <vector>

#include "backend/vulkan/buffer.h"
#include "backend/vulkan/device.h"
#include "backend/vulkan/ops.h"
#include "core/half.h"
#include "kernels/kernels.h"
#include "quant/dequant.h"
#include "quant/quantize.h"

namespace onprem::vulkan {
namespace {

constexpr double kUnit = 1.0 / 16777216.0;  // 2^-24

Device* device() {
  static std::unique_ptr<Device> d = open_device(0, nullptr);
  return d.get();
}

#define NEED_DEVICE()                                                                     \
  do {                                                                                    \
    if (!device()) {                                                                      \
      const char* req = std::getenv("ONPREM_REQUIRE_VULKAN");                             \
      if (req && std::string(req) == "1") FAIL() << "ONPREM_REQUIRE_VULKAN=1, no device"; \
      GTEST_SKIP() << "no Vulkan device on this machine";                                 \
    }                                                                                     \
  } while (0)

Buffer with(const std::vector<float>& v) {
  Buffer b;
  std::string error;
  EXPECT_TRUE(create_buffer(*device(), std::max<size_t>(v.size(), 1) * 4, Memory::kDevice, b, &error)) << error;
  if (!v.empty()) {
    EXPECT_TRUE(upload(b, 0, v.data(), v.size() * 4, &error)) << error;
  }
  return b;
}

template <typename T>
std::vector<T> read(const Buffer& b, size_t n) {
  std::vector<T> out(n);
  std::string error;
  EXPECT_TRUE(download(b, 0, out.data(), n * sizeof(T), &error)) << error;
  return out;
}

std::vector<float> normal(size_t n, float sd, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Records one op with `record`, runs it, and fails the test on any error.
template <typename F>
void run(F&& record) {
  Ops ops(*device());
  Graph g(*device());
  std::string error;
  ASSERT_TRUE(record(ops, g, &error)) << error;
  ASSERT_TRUE(g.run(&error)) << error;
}

TEST(VulkanOps, L2NormMatchesTheCpuReference) {
  NEED_DEVICE();
  // q heads of a DeltaNet layer: 3 tokens of 2 heads of 32, 100 floats apart, from offset 5.
  const uint32_t n = 32, heads = 2, tokens = 3, stride = 100, offset = 5;
  auto x = normal(offset + tokens * stride, 1.5f, 1);
  Buffer b = with(x);
  const float eps = 1e-6f, scale = 0.17677669f;
  run([&](Ops& o, Graph& g, std::string* e) {
    return o.l2_norm(g, b, n, tokens * heads, heads, stride, offset, eps, scale, e);
  });
  const auto y = read<float>(b, x.size());
  const auto& ref = *kernels::kernels_for(kernels::Isa::kScalar);
  for (uint32_t t = 0; t < tokens; ++t)
    for (uint32_t h = 0; h < heads; ++h) {
      const uint32_t base = offset + t * stride + h * n;
      std::vector<float> want(n);
      ref.l2_norm(x.data() + base, want.data(), n, eps);
      for (uint32_t i = 0; i < n; ++i)
        EXPECT_NEAR(y[base + i], want[i] * scale, (n + 16) * kUnit * std::fabs(want[i] * scale)) << t << "," << h;
    }
  // Outside the rows nothing moved.
  for (uint32_t i = 0; i < offset; ++i) EXPECT_EQ(y[i], x[i]);
  EXPECT_EQ(y[offset + heads * n], x[offset + heads * n]);
}

TEST(VulkanOps, RopeTurnsEachPairByItsTokensAngle) {
  NEED_DEVICE();
  const uint32_t tokens = 3, heads = 2, d = 16, half = 4, head_stride = d, token_stride = heads * d + 3, offset = 7;
  auto x = normal(offset + tokens * token_stride, 1.0f, 2);
  std::vector<float> table(tokens * half * 2);
  for (uint32_t t = 0; t < tokens; ++t)
    for (uint32_t j = 0; j < half; ++j) {
      const double th = 0.3 * (t + 1) * (j + 1);
      table[(t * half + j) * 2] = float(std::cos(th)), table[(t * half + j) * 2 + 1] = float(std::sin(th));
    }
  Buffer xb = with(x), tb = with(table);
  run([&](Ops& o, Graph& g, std::string* e) {
    return o.rope(g, xb, tb, tokens, heads, head_stride, token_stride, offset, half, e);
  });
  const auto y = read<float>(xb, x.size());
  for (uint32_t t = 0; t < tokens; ++t)
    for (uint32_t h = 0; h < heads; ++h) {
      const uint32_t b = offset + t * token_stride + h * head_stride;
      for (uint32_t j = 0; j < half; ++j) {
        const double c = table[(t * half + j) * 2], s = table[(t * half + j) * 2 + 1];
        const double x0 = x[b + j], x1 = x[b + j + half];
        const double tol = 4 * kUnit * (std::fabs(x0) + std::fabs(x1));
        EXPECT_NEAR(y[b + j], x0 * c - x1 * s, tol);
        EXPECT_NEAR(y[b + j + half], x0 * s + x1 * c, tol);
      }
      for (uint32_t j = 2 * half; j < d; ++j) EXPECT_EQ(y[b + j], x[b + j]);  // beyond n_rot: untouched
    }
}

// Attention over caches that hold k and v (as floats, after any rounding of the cache's type)
// against the formula in double precision.
void expect_attention(const std::vector<float>& out, const std::vector<float>& q, const std::vector<float>& qg,
                      const std::vector<float>& k, const std::vector<float>& v, uint32_t T, uint32_t D, uint32_t Hq,
                      uint32_t Hkv, uint32_t pos0, float scale) {
  for (uint32_t t = 0; t < T; ++t)
    for (uint32_t h = 0; h < Hq; ++h) {
      const uint32_t kvh = h / (Hq / Hkv), n_kv = pos0 + t + 1;
      std::vector<double> p(n_kv);
      double mx = -1e300, sum = 0;
      for (uint32_t j = 0; j < n_kv; ++j) {
        double s = 0;
        for (uint32_t i = 0; i < D; ++i) s += double(q[(t * Hq + h) * D + i]) * k[(j * Hkv + kvh) * D + i];
        p[j] = s * scale, mx = std::max(mx, p[j]);
      }
      for (auto& x : p) sum += x = std::exp(x - mx);
      for (uint32_t i = 0; i < D; ++i) {
        double acc = 0, mag = 0;
        for (uint32_t j = 0; j < n_kv; ++j) {
          acc += p[j] / sum * v[(j * Hkv + kvh) * D + i];
          mag += p[j] / sum * std::fabs(v[(j * Hkv + kvh) * D + i]);
        }
        const double gate = 1 / (1 + std::exp(-double(qg[(t * Hq + h) * 2 * D + D + i])));
        // Scores (D terms, then exp of an error scaled by up to |score|), the weighted sum (n_kv).
        EXPECT_NEAR(out[(t * Hq + h) * D + i], acc * gate, (D + n_kv + 32) * 8 * kUnit * mag + 1e-7)
            << "token " << t << " head " << h << " dim " << i;
      }
    }
}

TEST(VulkanOps, AttentionIsCausalGqaSoftmaxTimesTheGate) {
  NEED_DEVICE();
  const uint32_t T = 5, D = 64, Hq = 4, Hkv = 2, pos0 = 7, ctx = pos0 + T, stride = ctx + 3;
  const float scale = 0.125f;
  auto q = normal(T * Hq * D, 1.0f, 3), qg = normal(T * Hq * 2 * D, 1.0f, 4);
  auto k = normal(ctx * Hkv * D, 1.0f, 5), v = normal(ctx * Hkv * D, 1.0f, 6);
  Buffer qb = with(q), gb = with(qg), kb = with(k), vb = with(v), sb = with(std::vector<float>(T * Hq * stride)),
         ob = with(std::vector<float>(T * Hq * D));
  AttentionArgs a;
  a.tokens = T, a.head_dim = D, a.n_head = Hq, a.n_head_kv = Hkv, a.pos0 = pos0, a.score_stride = stride,
  a.scale = scale;
  run([&](Ops& o, Graph& g, std::string* e) { return o.attention(g, qb, gb, kb, vb, sb, ob, a, e); });
  expect_attention(read<float>(ob, T * Hq * D), q, qg, k, v, T, D, Hq, Hkv, pos0, scale);
}

// The KV cache in F16 and Q8_0: kv_store writes, at the device position, the very bytes of the
// CPU's conversions (core/half.h's rounding; quant's Q8_0, llama.cpp's), and attention reads
// them back as the CPU's dequantisation does. Rows hold a zero block (scale 0) and values below
// F16's normal range; a row of values at and past F16's largest is stored on its own.
TEST(VulkanOps, KvCacheInF16AndQ8_0HoldsTheCpusBytes) {
  NEED_DEVICE();
  const uint32_t T = 3, D = 64, Hq = 4, Hkv = 2, row = Hkv * D, pos = 5, ctx = pos + T, stride = ctx + 2;
  const float scale = 0.125f;
  auto q = normal(T * Hq * D, 1.0f, 13), qg = normal(T * Hq * 2 * D, 1.0f, 14);
  auto k = normal(ctx * row, 1.0f, 15), v = normal(ctx * row, 1.0f, 16);
  for (uint32_t i = 0; i < 32; ++i) k[pos * row + 64 + i] = 0;  // a zero block in the first stored row
  k[pos * row + 3] = 3e-6f, k[pos * row + 4] = -7e-8f;          // F16 subnormals
  Buffer pb = with(std::vector<float>{0});
  {
    std::string error;
    const uint32_t p = pos;
    ASSERT_TRUE(upload(pb, 0, &p, 4, &error)) << error;
  }
  for (const core::GgmlType type : {core::GgmlType::kF16, core::GgmlType::kQ8_0}) {
    const uint64_t rb = kv_row_bytes(type, row);
    ASSERT_GT(rb, 0u);
    // The rows before the position are written on the host; the call stores T rows at `pos`.
    std::vector<uint8_t> kbytes(ctx * rb), vbytes(ctx * rb);
    const auto to_type = [&](const float* x, uint8_t* dst) {
      if (type == core::GgmlType::kF16)
        quant::quantize_row_f16(x, dst, row);
      else
        quant::quantize_row_q8_0(x, dst, row);
    };
    for (uint32_t j = 0; j < pos; ++j) to_type(&k[j * row], &kbytes[j * rb]), to_type(&v[j * row], &vbytes[j * rb]);
    Buffer kc, vc, xk = with(std::vector<float>(k.begin() + pos * row, k.end())),
                   xv = with(std::vector<float>(v.begin() + pos * row, v.end()));
    std::string error;
    for (Buffer* b : {&kc, &vc}) ASSERT_TRUE(create_buffer(*device(), ctx * rb, Memory::kDevice, *b, &error)) << error;
    ASSERT_TRUE(upload(kc, 0, kbytes.data(), pos * rb, &error)) << error;
    ASSERT_TRUE(upload(vc, 0, vbytes.data(), pos * rb, &error)) << error;
    Buffer qb = with(q), gb = with(qg), sb = with(std::vector<float>(T * Hq * stride)),
           ob = with(std::vector<float>(T * Hq * D));
    AttentionArgs a;
    a.kv_type = type, a.tokens = T, a.head_dim = D, a.n_head = Hq, a.n_head_kv = Hkv, a.score_stride = stride;
    a.scale = scale, a.pos = DevicePos{&pb, pos};
    run([&](Ops& o, Graph& g, std::string* e) {
      return o.kv_store(g, xk, 0, kc, type, row, T, a.pos, e) && o.kv_store(g, xv, 0, vc, type, row, T, a.pos, e) &&
             o.attention(g, qb, gb, kc, vc, sb, ob, a, e);
    });
    for (uint32_t j = pos; j < ctx; ++j) to_type(&k[j * row], &kbytes[j * rb]), to_type(&v[j * row], &vbytes[j * rb]);
    const auto kd = read<uint8_t>(kc, ctx * rb), vd = read<uint8_t>(vc, ctx * rb);
    for (uint32_t j = pos; j < ctx; ++j)
      for (uint64_t b = 0; b < rb; ++b) {
        ASSERT_EQ(kd[j * rb + b], kbytes[j * rb + b]) << core::ggml_type_name(type) << " K row " << j << " byte " << b;
        ASSERT_EQ(vd[j * rb + b], vbytes[j * rb + b]) << core::ggml_type_name(type) << " V row " << j << " byte " << b;
      }
    // Attention over what the cache holds, as the CPU reads it.
    std::vector<float> kq(ctx * row), vq(ctx * row);
    const auto from_type = type == core::GgmlType::kF16 ? quant::dequantize_row_f16 : quant::dequantize_row_q8_0;
    for (uint32_t j = 0; j < ctx; ++j)
      from_type(&kbytes[j * rb], &kq[j * row], row), from_type(&vbytes[j * rb], &vq[j * row], row);
    expect_attention(read<float>(ob, T * Hq * D), q, qg, kq, vq, T, D, Hq, Hkv, pos, scale);
    // Large values: 65,504 (F16's largest), 65,519.9 (rounds down to it), 65,520 and 1e5
    // (infinity), their negatives, among ordinary ones; no position buffer (row 0).
    std::vector<float> big = normal(row, 100.0f, 17);
    const float edges[] = {65504.0f, 65519.9f, 65520.0f, 1e5f, -65504.0f, -65519.9f, -65520.0f, -1e5f};
    std::copy(std::begin(edges), std::end(edges), big.begin() + 40);
    std::vector<uint8_t> want(rb);
    to_type(big.data(), want.data());
    Buffer xb = with(big), cb;
    ASSERT_TRUE(create_buffer(*device(), rb, Memory::kDevice, cb, &error)) << error;
    run([&](Ops& o, Graph& g, std::string* e) { return o.kv_store(g, xb, 0, cb, type, row, 1, DevicePos{}, e); });
    EXPECT_EQ(read<uint8_t>(cb, rb), want) << core::ggml_type_name(type) << ": large values";
  }
  // A row the Q8_0 cache cannot hold (not a multiple of 64) is refused.
  EXPECT_EQ(kv_row_bytes(core::GgmlType::kQ8_0, 96), 0u);
  EXPECT_EQ(kv_row_bytes(core::GgmlType::kQ4_0, 128), 0u);
}

TEST(VulkanOps, DeltaNetConvGatesAndRuleMatchTheCpu) {
  NEED_DEVICE();
  const uint32_t T = 4, hk = 2, hv = 4, dk = 16, dv = 16, K = 4;
  const uint32_t Ch = 2 * hk * dk + hv * dv;
  auto u = normal(T * Ch, 1.0f, 7), w = normal(Ch * K, 0.5f, 8), st = normal(Ch * (K - 1), 1.0f, 9);
  DeltaNetArgs a;
  a.tokens = T, a.channels = Ch, a.taps = K, a.hk = hk, a.hv = hv, a.dk = dk, a.dv = dv;
  // Conv + SiLU, with the state rolling.
  Buffer ub = with(u), wb = with(w), sb = with(st), yb = with(std::vector<float>(T * Ch));
  run([&](Ops& o, Graph& g, std::string* e) { return o.deltanet_conv(g, ub, wb, sb, yb, a, e); });
  const auto y = read<float>(yb, T * Ch), st_out = read<float>(sb, Ch * (K - 1));
  for (uint32_t ch = 0; ch < Ch; ++ch) {
    std::vector<double> hist(st.begin() + ch * (K - 1), st.begin() + (ch + 1) * (K - 1));
    for (uint32_t t = 0; t < T; ++t) {
      double acc = double(w[ch * K + K - 1]) * u[t * Ch + ch], mag = std::fabs(acc);
      for (uint32_t j = 0; j + 1 < K; ++j) acc += w[ch * K + j] * hist[j], mag += std::fabs(w[ch * K + j] * hist[j]);
      hist.erase(hist.begin()), hist.push_back(u[t * Ch + ch]);
      const double want = acc / (1 + std::exp(-acc));
      EXPECT_NEAR(y[t * Ch + ch], want, (K + 8) * 4 * kUnit * mag + 1e-7) << "conv ch " << ch << " t " << t;
    }
    for (uint32_t j = 0; j + 1 < K; ++j) EXPECT_EQ(st_out[ch * (K - 1) + j], float(hist[j]));
  }
  // Gates: beta = sigmoid(b); g = max(softplus(a + dt_bias) * ssm_a, -88) (model.md §7).
  auto bl = normal(T * hv, 2.0f, 10), al = normal(T * hv, 3.0f, 11), bias = normal(hv, 1.0f, 12);
  std::vector<float> ssm_a = {-0.5f, -2.0f, -8.0f, -1e30f};  // the last one hits the floor
  al[0] = 30.0f;                                             // softplus's linear branch
  Buffer bb = with(bl), ab = with(al), biasb = with(bias), ssmb = with(ssm_a);
  run([&](Ops& o, Graph& g, std::string* e) { return o.deltanet_gates(g, bb, ab, biasb, ssmb, a, e); });
  const auto beta = read<float>(bb, T * hv), gam = read<float>(ab, T * hv);
  for (uint32_t i = 0; i < T * hv; ++i) {
    const double x = double(al[i]) + bias[i % hv];
    const double sp = x > 20 ? x : std::log1p(std::exp(x));
    EXPECT_NEAR(beta[i], 1 / (1 + std::exp(-double(bl[i]))), 8 * kUnit);
    EXPECT_NEAR(gam[i], std::max(sp * ssm_a[i % hv], -88.0),
                16 * kUnit * std::fabs(std::max(sp * ssm_a[i % hv], -88.0)) + 1e-6)
        << i;
  }
  // The rule, token by token, against the CPU's scalar step (value-major state).
  std::vector<float> qkv = normal(T * Ch, 0.3f, 13), S0 = normal(hv * dv * dk, 0.5f, 14), bt(T * hv), gt(T * hv);
  for (uint32_t i = 0; i < T * hv; ++i) bt[i] = 0.2f + 0.1f * float(i % 5), gt[i] = -0.05f * float(1 + i % 3);
  Buffer qb = with(qkv), btb = with(bt), gtb = with(gt), Sb = with(S0), ob = with(std::vector<float>(T * hv * dv));
  run([&](Ops& o, Graph& g, std::string* e) { return o.deltanet_rule(g, qb, btb, gtb, Sb, ob, a, e); });
  const auto o = read<float>(ob, T * hv * dv), S = read<float>(Sb, hv * dv * dk);
  const auto& ref = *kernels::kernels_for(kernels::Isa::kScalar);
  std::vector<float> Sr = S0, orow(dv);
  for (uint32_t j = 0; j < hv; ++j)
    for (uint32_t t = 0; t < T; ++t) {
      const float* base = qkv.data() + t * Ch;
      const uint32_t kh = j % hk;
      ref.delta_rule_step(Sr.data() + j * dv * dk, base + hk * dk + kh * dk, base + kh * dk,
                          base + 2 * hk * dk + j * dv, bt[t * hv + j], std::exp(gt[t * hv + j]), dk, dv, orow.data());
      for (uint32_t c = 0; c < dv; ++c)
        EXPECT_NEAR(o[t * hv * dv + j * dv + c], orow[c], 1e-5 * (1 + std::fabs(orow[c]))) << j << "," << t << "," << c;
    }
  for (size_t i = 0; i < S.size(); ++i) EXPECT_NEAR(S[i], Sr[i], 1e-5 * (1 + std::fabs(Sr[i])));
}

// The chunked rule (a prompt in chunks of 64, matrix form) against the scalar step token by
// token: the same math, reassociated, so the bar is the CPU's for its own chunked form (1e-4 of
// the outputs' scale, deltanet_test). 400 tokens in two calls of 270 and 130, so a call holds
// five chunks (a shader that looped over its chunks lost the fifth on lavapipe), chunks end
// mid-call, and the state carries over; q and k L2-normed as the model's are; gates from no decay
// to e^-30 in one token, and beta from 0 to 1.
TEST(VulkanOps, DeltaNetChunkedRuleMatchesTheStepByStepRule) {
  NEED_DEVICE();
  const uint32_t T = 400, hk = 2, hv = 4, dk = 32, dv = 32, Ch = 2 * hk * dk + hv * dv;
  std::vector<float> qkv = normal(T * Ch, 1.0f, 21), S0 = normal(hv * dv * dk, 0.3f, 22), bt(T * hv), gt(T * hv);
  for (uint32_t t = 0; t < T; ++t)
    for (uint32_t h = 0; h < 2 * hk; ++h) {  // q heads (scaled by 1/sqrt(dk)), then k heads
      float* x = qkv.data() + t * Ch + h * dk;
      double n = 0;
      for (uint32_t i = 0; i < dk; ++i) n += double(x[i]) * x[i];
      const float scale = float((h < hk ? 1 / std::sqrt(double(dk)) : 1.0) / std::sqrt(n));
      for (uint32_t i = 0; i < dk; ++i) x[i] *= scale;
    }
  for (uint32_t i = 0; i < T * hv; ++i) {
    bt[i] = float(i % 11) / 10.0f;
    gt[i] = i % 37 == 5 ? -30.0f : i % 13 == 0 ? 0.0f : -0.02f * float(1 + i % 7);
  }
  Buffer Sb = with(S0), ob = with(std::vector<float>(T * hv * dv)),
         work = with(std::vector<float>(hv * 64 * (dv + dk + 1)));
  for (const auto& [t0, n] : {std::pair<uint32_t, uint32_t>{0, 270}, {270, 130}}) {
    // Each call reads its tokens from the start of its own buffers, as the forward pass lays them out.
    Buffer qc = with(std::vector<float>(qkv.begin() + t0 * Ch, qkv.begin() + (t0 + n) * Ch)),
           bc = with(std::vector<float>(bt.begin() + t0 * hv, bt.begin() + (t0 + n) * hv)),
           gc = with(std::vector<float>(gt.begin() + t0 * hv, gt.begin() + (t0 + n) * hv)),
           oc = with(std::vector<float>(n * hv * dv));
    DeltaNetArgs a;
    a.tokens = n, a.channels = Ch, a.hk = hk, a.hv = hv, a.dk = dk, a.dv = dv;
    run([&](Ops& o, Graph& g, std::string* e) { return o.deltanet_rule_chunked(g, qc, bc, gc, Sb, oc, work, a, e); });
    const auto part = read<float>(oc, n * hv * dv);
    std::string error;
    ASSERT_TRUE(upload(ob, uint64_t(t0) * hv * dv * 4, part.data(), part.size() * 4, &error)) << error;
  }
  const auto o = read<float>(ob, T * hv * dv), S = read<float>(Sb, hv * dv * dk);
  const auto& ref = *kernels::kernels_for(kernels::Isa::kScalar);
  std::vector<float> Sr = S0, want(T * hv * dv);
  for (uint32_t j = 0; j < hv; ++j)
    for (uint32_t t = 0; t < T; ++t) {
      const float* base = qkv.data() + t * Ch;
      const uint32_t kh = j % hk;
      ref.delta_rule_step(Sr.data() + j * dv * dk, base + hk * dk + kh * dk, base + kh * dk,
                          base + 2 * hk * dk + j * dv, bt[t * hv + j], std::exp(gt[t * hv + j]), dk, dv,
                          want.data() + t * hv * dv + j * dv);
    }
  double max_o = 0, max_d = 0, max_sd = 0;
  for (size_t i = 0; i < o.size(); ++i)
    max_o = std::max(max_o, double(std::fabs(want[i]))), max_d = std::max(max_d, double(std::fabs(o[i] - want[i])));
  for (size_t i = 0; i < S.size(); ++i) max_sd = std::max(max_sd, double(std::fabs(S[i] - Sr[i])));
  std::printf("chunked on the device: max |o| %.3g, max |o - step| %.3g, max state diff %.3g\n", max_o, max_d, max_sd);
  EXPECT_LE(max_d, 1e-4 * std::max(1.0, max_o));
  EXPECT_LE(max_sd, 1e-4);
}

TEST(VulkanOps, MoeRoutesCombinesAndAddsTheSharedExpert) {
  NEED_DEVICE();
  const uint32_t T = 3, E = 8, k = 3, N = 10;
  auto logits = normal(T * E, 1.0f, 15);
  // Token 1: a three-way tie for first place and a tie at the cut (lower ids first).
  for (uint32_t e : {2u, 5u, 6u}) logits[1 * E + e] = 2.0f;
  logits[1 * E + 0] = 1.0f, logits[1 * E + 7] = 1.0f;
  Buffer lb = with(logits), ib = with(std::vector<float>(T * k)), wb = with(std::vector<float>(T * k));
  run([&](Ops& o, Graph& g, std::string* e) { return o.moe_route(g, lb, ib, wb, T, E, k, e); });
  const auto ids = read<uint32_t>(ib, T * k);
  const auto w = read<float>(wb, T * k);
  for (uint32_t t = 0; t < T; ++t) {
    std::vector<double> p(E);
    double mx = *std::max_element(logits.begin() + t * E, logits.begin() + (t + 1) * E), sum = 0;
    for (uint32_t e = 0; e < E; ++e) sum += p[e] = std::exp(logits[t * E + e] - mx);
    std::vector<uint32_t> order(E);
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return p[a] > p[b]; });
    double picked = 0;
    for (uint32_t s = 0; s < k; ++s) picked += p[order[s]] / sum;
    for (uint32_t s = 0; s < k; ++s) {
      EXPECT_EQ(ids[t * k + s], order[s]) << "token " << t << " slot " << s;
      EXPECT_NEAR(w[t * k + s], p[order[s]] / sum / picked, 64 * kUnit);
    }
  }
  // Combination: out[t] = sum_s w[t][s] * ys[t*k+s]; then + sigmoid(gl[t]) * sh[t].
  auto ys = normal(T * k * N, 1.0f, 16), sh = normal(T * N, 1.0f, 17), gl = normal(T, 2.0f, 18);
  Buffer yb = with(ys), ob = with(std::vector<float>(T * N)), shb = with(sh), glb = with(gl);
  run([&](Ops& o, Graph& g, std::string* e) {
    return o.moe_combine(g, yb, wb, ob, T, N, k, e) && o.moe_shared(g, shb, glb, ob, T, N, e);
  });
  const auto out = read<float>(ob, T * N);
  for (uint32_t t = 0; t < T; ++t)
    for (uint32_t c = 0; c < N; ++c) {
      double want = 0, mag = 0;
      for (uint32_t s = 0; s < k; ++s)
        want += double(w[t * k + s]) * ys[(t * k + s) * N + c],
            mag += std::fabs(w[t * k + s] * ys[(t * k + s) * N + c]);
      const double sg = 1 / (1 + std::exp(-double(gl[t])));
      want += sg * sh[t * N + c], mag += std::fabs(sg * sh[t * N + c]);
      EXPECT_NEAR(out[t * N + c], want, (k + 8) * 4 * kUnit * mag) << t << "," << c;
    }
}

TEST(VulkanOps, ElementWiseOpsInPlaceAndAtOffsets) {
  NEED_DEVICE();
  const uint32_t n = 70000;  // 274 workgroups, every operand at its own offset
  auto a = normal(n + 3, 2.0f, 19), b = normal(n + 5, 2.0f, 20);
  Buffer ab = with(a), bb = with(b), yb = with(std::vector<float>(n + 9, 7.0f));
  run([&](Ops& o, Graph& g, std::string* e) {
    return o.eltwise(g, Eltwise::kSwiglu, ab, 3, bb, 5, yb, 9, n, e) &&
           o.eltwise(g, Eltwise::kAdd, yb, 9, bb, 5, yb, 9, n, e);  // in place: y = silu(a) * b + b
  });
  const auto y = read<float>(yb, n + 9);
  for (uint32_t i = 0; i < 9; ++i) EXPECT_EQ(y[i], 7.0f);
  for (uint32_t i = 0; i < n; ++i) {
    const double x = a[3 + i], want = x / (1 + std::exp(-x)) * b[5 + i] + b[5 + i];
    ASSERT_NEAR(y[9 + i], want, 16 * kUnit * (std::fabs(want) + std::fabs(b[5 + i]) * (1 + std::fabs(x)))) << i;
  }
  // A copy, and refusals past the end.
  Buffer cb = with(std::vector<float>(n));
  run([&](Ops& o, Graph& g, std::string* e) { return o.eltwise(g, Eltwise::kCopy, ab, 3, ab, 3, cb, 0, n, e); });
  const auto c = read<float>(cb, n);
  EXPECT_TRUE(std::equal(c.begin(), c.end(), a.begin() + 3));
  Ops ops(*device());
  Graph g(*device());
  std::string error;
  EXPECT_FALSE(ops.eltwise(g, Eltwise::kAdd, ab, 4, bb, 0, cb, 0, n, &error));
  EXPECT_NE(error.find("overruns"), std::string::npos) << error;
}

}  // namespace
}  // namespace onprem::vulkan
