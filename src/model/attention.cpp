// Gated full attention (model.md §6): query + gate split per head, per-head q/k RMSNorm, partial
// NEOX RoPE with the interleaved M-RoPE section rule, causal GQA over the KV cache, sigmoid gate.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "model/layers.h"
#include "model/rope.h"

namespace onprem::model {

void attention_block(const LayerContext& c, int il, const std::vector<Segment>& segs, const float* a, int64_t T,
                     float* out) {
  const ModelConfig& cfg = c.m.config;
  const LayerWeights& L = c.m.layers[size_t(il)];
  const int64_t D = cfg.head_dim, Hq = cfg.n_head, Hkv = cfg.n_head_kv, group = Hq / Hkv;
  float* qg = c.ws.scratch[0].data();  // [T][Hq][2D]: query then gate, per head
  float* kx = c.ws.scratch[1].data();  // [T][Hkv*D]
  float* vx = c.ws.scratch[2].data();  // [T][Hkv*D]
  float* o = c.ws.scratch[3].data();   // [T][Hq*D]
  c.matmul_group({{L.wq.view, qg}, {L.wk.view, kx}, {L.wv.view, vx}}, a, T);
  // Norm + RoPE, then append K and V to each sequence's cache at their positions.
  for (size_t si = 0; si < segs.size(); ++si) {
    const Segment& sg = segs[si];
    SequenceState& s = *sg.state;
    for (int64_t r = 0; r < sg.n; ++r) {
      const int64_t t = sg.row0 + r, pos = sg.pos0 + r;
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
  // Work items: a block of up to kAttentionRows rows of one sequence, against one KV head, for
  // the query heads that share it; the kernel keeps one key tile in cache for all of them.
  std::vector<AttentionItem>& items = c.ws.attention_items;
  items.clear();
  for (size_t si = 0; si < segs.size(); ++si)
    for (int64_t r0 = 0; r0 < segs[si].n; r0 += kAttentionRows)
      for (int64_t g = 0; g < Hkv; ++g) items.push_back(AttentionItem{int32_t(si), r0, g});
  const float scale = 1.0f / std::sqrt(float(D));
  const int64_t scratch_floats = kernels::attention_scratch_floats(kAttentionRows * group, D);
  c.parallel(int64_t(items.size()), [&](int64_t i, int worker) {
    const AttentionItem& it = items[size_t(i)];
    const Segment& sg = segs[size_t(it.seg)];
    const int64_t t0 = sg.row0 + it.row0, g = it.kv_head;
    kernels::AttentionBlock b;
    b.q = qg + (t0 * Hq + g * group) * 2 * D, b.q_row = Hq * 2 * D, b.q_head = 2 * D;
    b.o = o + (t0 * Hq + g * group) * D, b.o_row = Hq * D, b.o_head = D;
    b.rows = std::min<int64_t>(kAttentionRows, sg.n - it.row0), b.heads = group;
    b.k = sg.state->k[size_t(il)].data() + g * D, b.v = sg.state->v[size_t(il)].data() + g * D;
    b.kv_stride = Hkv * D;
    b.n_kv0 = sg.pos0 + it.row0 + 1;  // causal: the first row sees the keys up to its own
    b.d = D, b.scale = scale;
    c.k.attention(b, c.ws.scores.data() + worker * scratch_floats);
    float gs[512];  // head_dim <= 512 (checked at load)
    for (int64_t r = 0; r < b.rows; ++r)
      for (int64_t h = 0; h < group; ++h) {
        const float* gate = b.q + r * b.q_row + h * b.q_head + D;
        float* oh = b.o + r * b.o_row + h * b.o_head;
        c.k.sigmoid(gate, gs, D);
        for (int64_t d = 0; d < D; ++d) oh[d] *= gs[d];
      }
  });
  c.observe("attn_gated", il, o, T, Hq * D);
  c.matmul(L.wo.view, o, T, out);
  c.observe("attn_out", il, out, T, cfg.n_embd);
}

}  // namespace onprem::model
