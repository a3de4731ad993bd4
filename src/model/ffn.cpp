// FFN (model.md §8): dense SwiGLU, or MoE with a softmax router over all experts, top-k
// renormalised, and a shared expert scaled by a sigmoid gate. MoE tokens are grouped by expert so
// each expert's weights are read once per ubatch.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "model/layers.h"

namespace onprem::model {

namespace {

// out[T][N] = down · (silu(gate · x) ⊙ (up · x))
void swiglu_ffn(const LayerContext& c, const kernels::MatrixView& gate, const kernels::MatrixView& up,
                const kernels::MatrixView& down, const float* x, int64_t T, float* g, float* u, float* out) {
  c.matmul_group({{gate, g}, {up, u}}, x, T);
  c.k.swiglu(g, u, g, T * gate.n_rows);
  c.matmul(down, g, T, out);
}

}  // namespace

void ffn_block(const LayerContext& c, int il, const float* f, int64_t T, float* out) {
  const ModelConfig& cfg = c.m.config;
  const LayerWeights& L = c.m.layers[size_t(il)];
  const int64_t N = cfg.n_embd;
  if (!cfg.is_moe()) {
    swiglu_ffn(c, L.ffn_gate.view, L.ffn_up.view, L.ffn_down.view, f, T, c.ws.scratch[0].data(), c.ws.scratch[1].data(),
               out);
    c.observe("ffn_out", il, out, T, N);
    return;
  }
  const int64_t E = cfg.n_expert, k = cfg.n_expert_used;
  float* probs = c.ws.scratch[2].data();  // [T][E]
  float* g_sh = c.ws.scratch[0].data();   // [T][n_ff_shexp] the shared expert's gate, then SwiGLU
  float* u_sh = c.ws.scratch[1].data();   // [T][n_ff_shexp] its up
  float* sh = c.ws.scratch[4].data();     // [T][N] its output
  const bool shared = !L.shexp_gate.empty();
  kernels::MatrixView router{reinterpret_cast<const uint8_t*>(L.router.data()), core::GgmlType::kF32, N, E};
  // The router and the shared expert's gate and up read the same rows: one dispatch.
  if (shared)
    c.matmul_group({{router, probs}, {L.gate_shexp.view, g_sh}, {L.up_shexp.view, u_sh}}, f, T);
  else
    c.matmul(router, f, T, probs);
  c.observe("ffn_moe_logits", il, probs, T, E);
  // Top-k per token on the softmax probabilities (ties: lower expert id first), renormalised.
  auto& by_expert = c.ws.moe_lists;  // expert -> (token, weight)
  by_expert.resize(static_cast<size_t>(E));
  for (auto& l : by_expert) l.clear();
  auto& idx = c.ws.moe_idx;
  idx.resize(static_cast<size_t>(E));
  for (int64_t t = 0; t < T; ++t) {
    float* p = probs + t * E;
    c.k.softmax(p, p, E);
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                      [&](int64_t a, int64_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
    float sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += p[idx[size_t(j)]];
    sum = std::max(sum, 6.103515625e-5f);
    for (int64_t j = 0; j < k; ++j) by_expert[size_t(idx[size_t(j)])].push_back({t, p[idx[size_t(j)]] / sum});
  }
  // Whole experts go to workers (one pool dispatch per layer instead of three per expert); each
  // worker runs its experts' matrices single-threaded on its own scratch.
  auto& active = c.ws.moe_active;
  auto& slot0 = c.ws.moe_slot0;
  active.clear();
  slot0.resize(static_cast<size_t>(E));
  int64_t slots = 0;
  for (int64_t e = 0; e < E; ++e) {
    slot0[size_t(e)] = slots;
    if (!by_expert[size_t(e)].empty()) active.push_back(e), slots += int64_t(by_expert[size_t(e)].size());
  }
  const int64_t TM = c.ws.max_tokens, F = cfg.n_ff_exp;
  float* ys = c.ws.moe.data() + size_t(c.n_workers()) * c.ws.moe_worker_floats;  // [slots][N]
  c.parallel(int64_t(active.size()), [&](int64_t i, int w) {
    const int64_t e = active[size_t(i)];
    const auto& list = by_expert[size_t(e)];
    const int64_t ne = int64_t(list.size());
    float* xs = c.ws.moe.data() + size_t(w) * c.ws.moe_worker_floats;
    float* g = xs + TM * N;
    float* u = g + TM * F;
    uint8_t* q = c.ws.moe_q.data() + size_t(w) * c.ws.moe_worker_qbytes;
    for (int64_t r = 0; r < ne; ++r) std::memcpy(xs + r * N, f + list[size_t(r)].first * N, size_t(N) * sizeof(float));
    const auto act = c.opt.activations;
    c.see_matmul(L.gate_exps.expert(e), xs, ne);
    c.see_matmul(L.up_exps.expert(e), xs, ne);
    const kernels::MatmulOut gate_up[] = {{L.gate_exps.expert(e), g}, {L.up_exps.expert(e), u}};
    kernels::matmat_group(c.k, gate_up, xs, ne, act, q, int64_t(c.ws.moe_worker_qbytes), nullptr);
    c.k.swiglu(g, u, g, ne * F);
    c.see_matmul(L.down_exps.expert(e), g, ne);
    kernels::matmat(c.k, L.down_exps.expert(e), g, ne, ys + slot0[size_t(e)] * N, act, q, nullptr);
  });
  std::memset(out, 0, size_t(T * N) * sizeof(float));
  for (const int64_t e : active) {  // fixed order: expert id, then token
    const auto& list = by_expert[size_t(e)];
    for (size_t r = 0; r < list.size(); ++r) {
      float* dst = out + list[r].first * N;
      const float* y = ys + (slot0[size_t(e)] + int64_t(r)) * N;
      const float w = list[r].second;
      for (int64_t j = 0; j < N; ++j) dst[j] += w * y[j];
    }
  }
  c.observe("ffn_moe_out", il, out, T, N);
  if (!shared) return;
  c.k.swiglu(g_sh, u_sh, g_sh, T * L.gate_shexp.view.n_rows);
  c.matmul(L.down_shexp.view, g_sh, T, sh);
  const auto dot = c.k.of(core::GgmlType::kF32).dot_f32;
  for (int64_t t = 0; t < T; ++t) {
    float gl = dot(L.shexp_gate.data(), f + t * N, N), sg;
    c.k.sigmoid(&gl, &sg, 1);
    for (int64_t i = 0; i < N; ++i) out[t * N + i] += sg * sh[t * N + i];
  }
  c.observe("ffn_out", il, out, T, N);
}

}  // namespace onprem::model
