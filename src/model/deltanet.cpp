// Gated DeltaNet (model.md §7): projections, causal depthwise conv with its rolling state, SiLU,
// per-head L2 norm, decay and beta gates, the delta-rule recurrence (sequential, or chunked for
// prefill), gated RMSNorm, output projection. V head j reads q/k head j % Hk (GGUF tiled order).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "model/layers.h"

namespace onprem::model {

namespace {

// Per-token log-decay is floored here so that even an infinite gate (softplus overflow, or
// ssm_a = -inf) stays finite: e^-88 is already below every f32 state value that matters, and
// the chunked form's differences of cumulative sums can then never be inf - inf = NaN.
constexpr float kMinLogDecay = -88.0f;

// Sum with 16 partial sums (lane i % 16, added pairwise at the end), the order the delta-rule
// kernel uses: the compiler can keep the lanes in vector registers.
constexpr int kLanes = 16;
inline float reduce_lanes(float* acc) {
  for (int w = kLanes / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}
inline float dotf(const float* a, const float* b, int64_t n) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += a[i + l] * b[i + l];
  for (; i < n; ++i) acc[i % kLanes] += a[i] * b[i];
  return reduce_lanes(acc);
}
}  // namespace

void deltanet_head_sequential(const float* q, const float* k, const float* v, const float* beta, const float* g,
                              int64_t T, int64_t dk, int64_t dv, int64_t stride_qk, int64_t stride_v, float* S,
                              float* o, int64_t stride_o, const kernels::Kernels& kern) {
  // S is value-major: S[c][i] for value c, key i, so every product is a contiguous dot.
  for (int64_t t = 0; t < T; ++t)
    kern.delta_rule_step(S, k + t * stride_qk, q + t * stride_qk, v + t * stride_v, beta[t], std::exp(g[t]), dk, dv,
                         o + t * stride_o);
}

void deltanet_head_chunked(const float* q, const float* k, const float* v, const float* beta, const float* g, int64_t T,
                           int64_t dk, int64_t dv, int64_t stride_qk, int64_t stride_v, float* S, float* o,
                           int64_t stride_o) {
  constexpr int64_t C = 64;
  std::vector<float> gam(C), Bm(C * C), U(static_cast<size_t>(C * dv)), W(static_cast<size_t>(C * dk)),
      Vn(static_cast<size_t>(C * dv));
  // exp of an argument that is <= 0 by construction; the min() is the guard model.md §7.4 asks for.
  auto ex = [](float x) { return std::exp(std::min(x, 0.0f)); };
  for (int64_t c0 = 0; c0 < T; c0 += C) {
    const int64_t L = std::min(C, T - c0);
    const float* K = k + c0 * stride_qk;
    const float* Q = q + c0 * stride_qk;
    const float* V = v + c0 * stride_v;
    const float* Bt = beta + c0;
    // γ: cumulative log-decay, restarted every chunk.
    float acc = 0;
    for (int64_t r = 0; r < L; ++r) gam[size_t(r)] = acc += g[c0 + r];
    // B_rs = β_r (k_r·k_s) e^(γ_r - γ_s), strictly lower triangular (masked before exp).
    for (int64_t r = 0; r < L; ++r)
      for (int64_t s = 0; s < r; ++s)
        Bm[size_t(r * C + s)] =
            Bt[r] * dotf(K + r * stride_qk, K + s * stride_qk, dk) * ex(gam[size_t(r)] - gam[size_t(s)]);
    // Forward substitution with (I + B): U = T diag(β) V, W = T diag(β e^γ) K.
    for (int64_t r = 0; r < L; ++r) {
      float* ur = U.data() + r * dv;
      float* wr = W.data() + r * dk;
      const float bw = Bt[r] * ex(gam[size_t(r)]);
      for (int64_t c = 0; c < dv; ++c) ur[c] = Bt[r] * V[r * stride_v + c];
      for (int64_t i = 0; i < dk; ++i) wr[i] = bw * K[r * stride_qk + i];
      for (int64_t s = 0; s < r; ++s) {
        const float b = Bm[size_t(r * C + s)];
        if (b == 0.0f) continue;
        const float* us = U.data() + s * dv;
        const float* ws = W.data() + s * dk;
        for (int64_t c = 0; c < dv; ++c) ur[c] -= b * us[c];
        for (int64_t i = 0; i < dk; ++i) wr[i] -= b * ws[i];
      }
    }
    // Vnew = U - W S   (S value-major: (W S)_r[c] = S[c] · W_r)
    for (int64_t r = 0; r < L; ++r)
      for (int64_t c = 0; c < dv; ++c)
        Vn[size_t(r * dv + c)] = U[size_t(r * dv + c)] - dotf(S + c * dk, W.data() + r * dk, dk);
    // O_r = e^γ_r (S^T q_r) + Σ_{s<=r} (q_r·k_s) e^(γ_r - γ_s) Vnew_s
    for (int64_t r = 0; r < L; ++r) {
      const float* qr = Q + r * stride_qk;
      float* orow = o + (c0 + r) * stride_o;
      const float e = ex(gam[size_t(r)]);
      for (int64_t c = 0; c < dv; ++c) orow[c] = e * dotf(S + c * dk, qr, dk);
      for (int64_t s = 0; s <= r; ++s) {
        const float w = dotf(qr, K + s * stride_qk, dk) * ex(gam[size_t(r)] - gam[size_t(s)]);
        if (w == 0.0f) continue;
        const float* vs = Vn.data() + s * dv;
        for (int64_t c = 0; c < dv; ++c) orow[c] += w * vs[c];
      }
    }
    // S_out = e^γ_L S + Σ_r e^(γ_L - γ_r) k_r ⊗ Vnew_r
    const float gl = gam[size_t(L - 1)];
    const float el = ex(gl);
    for (int64_t c = 0; c < dv; ++c) {
      float* row = S + c * dk;
      for (int64_t i = 0; i < dk; ++i) row[i] *= el;
      for (int64_t r = 0; r < L; ++r) {
        const float w = ex(gl - gam[size_t(r)]) * Vn[size_t(r * dv + c)];
        const float* kr = K + r * stride_qk;
        for (int64_t i = 0; i < dk; ++i) row[i] += w * kr[i];
      }
    }
  }
}

void deltanet_block(const LayerContext& c, int il, const std::vector<Segment>& segs, const float* a, int64_t T,
                    float* out) {
  const ModelConfig& cfg = c.m.config;
  const LayerWeights& L = c.m.layers[size_t(il)];
  const int64_t Hk = cfg.ssm_n_group, Hv = cfg.ssm_dt_rank, dk = cfg.ssm_d_state, dv = cfg.ssm_d_state;
  const int64_t Kd = Hk * dk, Vd = cfg.ssm_d_inner, Ch = cfg.ssm_conv_channels(), K = cfg.ssm_conv_kernel;
  float* u = c.ws.scratch[0].data();   // [T][Ch]  projections, then (in place) conv + SiLU output
  float* z = c.ws.scratch[1].data();   // [T][Vd]  output gate
  float* bg = c.ws.scratch[2].data();  // [T][Hv]  beta, then sigmoid(beta)
  float* ag = c.ws.scratch[3].data();  // [T][Hv]  alpha, then the log-decay g
  float* o = c.ws.scratch[4].data();   // [T][Vd]
  c.matmul_group({{L.qkv.view, u}, {L.gate.view, z}, {L.beta.view, bg}, {L.alpha.view, ag}}, a, T);
  // Causal depthwise conv over the pre-activation inputs, with each sequence's rolling state of
  // K-1 inputs, then SiLU, L2 norms and the gates.
  const float qscale = 1.0f / std::sqrt(float(dk));
  for (const Segment& sg : segs) {
    float* cs = sg.state->conv[size_t(il)].data();
    for (int64_t t = sg.row0; t < sg.row0 + sg.n; ++t) {
      float* ut = u + t * Ch;
      for (int64_t ch = 0; ch < Ch; ++ch) {
        const float* w = L.conv.data() + ch * K;
        float* st = cs + ch * (K - 1);
        float y = w[K - 1] * ut[ch];
        for (int64_t j = 0; j < K - 1; ++j) y += w[j] * st[j];
        for (int64_t j = 0; j + 1 < K - 1; ++j) st[j] = st[j + 1];
        st[K - 2] = ut[ch];
        ut[ch] = y;
      }
      c.k.silu(ut, ut, Ch);
      for (int64_t h = 0; h < Hk; ++h) {
        c.k.l2_norm(ut + h * dk, ut + h * dk, dk, cfg.rms_eps);
        for (int64_t i = 0; i < dk; ++i) ut[h * dk + i] *= qscale;
        c.k.l2_norm(ut + Kd + h * dk, ut + Kd + h * dk, dk, cfg.rms_eps);
      }
      float* bt = bg + t * Hv;
      float* at = ag + t * Hv;
      c.k.sigmoid(bt, bt, Hv);
      for (int64_t j = 0; j < Hv; ++j) at[j] += L.dt_bias[size_t(j)];
      c.k.softplus(at, at, Hv);
      for (int64_t j = 0; j < Hv; ++j) at[j] = std::max(at[j] * L.ssm_a[size_t(j)], kMinLogDecay);
    }
  }
  c.observe("gdn_conv", il, u, T, Ch);
  // The recurrence: (sequence, head) pairs are independent, tokens sequential within each.
  const int64_t S_n = int64_t(segs.size());
  c.parallel(S_n * Hv, [&](int64_t idx, int worker) {
    const Segment& sg = segs[size_t(idx / Hv)];
    const int64_t j = idx % Hv, kh = j % Hk, n = sg.n;
    const bool chunked = c.opt.prefill == DeltaNetPrefill::kChunked && n > 1;
    float* beta = c.ws.gdn_gates.data() + size_t(2 * worker) * size_t(c.ws.max_tokens);
    float* g = beta + c.ws.max_tokens;
    for (int64_t t = 0; t < n; ++t) beta[t] = bg[(sg.row0 + t) * Hv + j], g[t] = ag[(sg.row0 + t) * Hv + j];
    float* S = sg.state->ssm[size_t(il)].data() + j * dv * dk;
    float* u0 = u + sg.row0 * Ch;
    const float *qh = u0 + kh * dk, *kh_ = u0 + Kd + kh * dk, *vh = u0 + 2 * Kd + j * dv;
    if (chunked)
      deltanet_head_chunked(qh, kh_, vh, beta, g, n, dk, dv, Ch, Ch, S, o + sg.row0 * Vd + j * dv, Vd);
    else
      deltanet_head_sequential(qh, kh_, vh, beta, g, n, dk, dv, Ch, Ch, S, o + sg.row0 * Vd + j * dv, Vd, c.k);
  });
  c.observe("gdn_core", il, o, T, Vd);
  // Gated RMSNorm per v head: rms_norm(o) * ssm_norm * silu(z).
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < Hv; ++j) {
      float* oj = o + t * Vd + j * dv;
      const float* zj = z + t * Vd + j * dv;
      float sz[512];  // dv <= 512 (checked at load)
      c.k.silu(zj, sz, dv);
      c.k.rms_norm(oj, L.ssm_norm.data(), oj, dv, cfg.rms_eps);
      for (int64_t i = 0; i < dv; ++i) oj[i] *= sz[i];
    }
  c.matmul(L.ssm_out.view, o, T, out);
  c.observe("gdn_out", il, out, T, cfg.n_embd);
}

}  // namespace onprem::model
