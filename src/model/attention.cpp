// Gated full attention (model.md §6): query + gate split per head, per-head q/k RMSNorm, partial
// NEOX RoPE with the interleaved M-RoPE section rule, causal GQA over the KV cache, sigmoid gate.
#include <cmath>
#include <cstring>

#include "model/layers.h"
#include "model/rope.h"

namespace onprem::model {

void attention_block(const LayerContext& c, int il, const std::vector<Segment>& segs, const float* a, int64_t T, float* out) {
  const ModelConfig& cfg = c.m.config;
  const LayerWeights& L = c.m.layers[size_t(il)];
  const int64_t D = cfg.head_dim, Hq = cfg.n_head, Hkv = cfg.n_head_kv, group = Hq / Hkv;
  float* qg = c.ws.t0.data();  // [T][Hq][2D]: query then gate, per head
  float* kx = c.ws.t1.data();  // [T][Hkv*D]
  float* vx = c.ws.t2.data();  // [T][Hkv*D]
  float* o = c.ws.t3.data();   // [T][Hq*D]
  c.matmul(L.wq.view, a, T, qg);
  c.matmul(L.wk.view, a, T, kx);
  c.matmul(L.wv.view, a, T, vx);
  // Norm + RoPE, then append K and V to each sequence's cache at their positions.
  std::vector<int32_t>& seg_of = c.ws.seg_of;
  seg_of.resize(static_cast<size_t>(T));
  for (size_t si = 0; si < segs.size(); ++si) {
    const Segment& sg = segs[si];
    SequenceState& s = *sg.state;
    for (int64_t r = 0; r < sg.n; ++r) {
      const int64_t t = sg.row0 + r, pos = sg.pos0 + r;
      seg_of[size_t(t)] = int32_t(si);
      for (int64_t h = 0; h < Hq; ++h) {
        float* q = qg + (t * Hq + h) * 2 * D;
        c.k.rms_norm(q, L.q_norm.data(), q, D, cfg.rms_eps);
        rope_neox(q, pos, cfg, s.rope_factor);
      }
      float* kc = s.k[size_t(il)].data() + pos * Hkv * D;
      float* vc = s.v[size_t(il)].data() + pos * Hkv * D;
      for (int64_t h = 0; h < Hkv; ++h) {
        c.k.rms_norm(kx + (t * Hkv + h) * D, L.k_norm.data(), kc + h * D, D, cfg.rms_eps);
        rope_neox(kc + h * D, pos, cfg, s.rope_factor);
      }
      std::memcpy(vc, vx + t * Hkv * D, size_t(Hkv * D) * sizeof(float));
    }
  }
  c.observe("attn_q", il, qg, T, 2 * Hq * D);
  const float scale = 1.0f / std::sqrt(float(D));
  const int64_t n_ctx = int64_t(c.ws.scores.size()) / c.n_workers();
  c.parallel(T * Hq, [&](int64_t i, int worker) {
    const int64_t t = i / Hq, h = i % Hq, g = h / group;
    const Segment& sg = segs[size_t(seg_of[size_t(t)])];
    const SequenceState& s = *sg.state;
    const int64_t n_kv = sg.pos0 + (t - sg.row0) + 1;  // causal: keys up to this token
    const float* q = qg + (t * Hq + h) * 2 * D;
    const float* gate = q + D;
    float* sc = c.ws.scores.data() + worker * n_ctx;  // n_kv <= n_ctx: checked by forward_batch
    const float* K = s.k[size_t(il)].data() + g * D;
    const float* V = s.v[size_t(il)].data() + g * D;
    const auto dot = c.k.of(core::GgmlType::kF32).dot_f32;
    for (int64_t j = 0; j < n_kv; ++j) sc[j] = dot(K + j * Hkv * D, q, D) * scale;
    c.k.softmax(sc, sc, n_kv);
    float* oh = o + t * Hq * D + h * D;
    std::memset(oh, 0, size_t(D) * sizeof(float));
    for (int64_t j = 0; j < n_kv; ++j) {
      const float w = sc[j];
      const float* vj = V + j * Hkv * D;
      for (int64_t d = 0; d < D; ++d) oh[d] += w * vj[d];
    }
    float gs[512];  // head_dim <= 512 (checked at load)
    c.k.sigmoid(gate, gs, D);
    for (int64_t d = 0; d < D; ++d) oh[d] *= gs[d];
  });
  c.observe("attn_gated", il, o, T, Hq * D);
  c.matmul(L.wo.view, o, T, out);
  c.observe("attn_out", il, out, T, cfg.n_embd);
}

}  // namespace onprem::model
