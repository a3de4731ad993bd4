#include "model/forward.h"

#include <algorithm>
#include <cstring>

#include "model/layers.h"
#include "quant/dequant.h"

namespace onprem::model {

using core::ErrorCode;
using core::make_error;

void LayerContext::matmul(const kernels::MatrixView& w, const float* X, int64_t T, float* Y) const {
  see_matmul(w, X, T);
  kernels::matmat(k, w, X, T, Y, opt.activations, ws.qscratch.data(), pool);
}

void LayerContext::matmul_group(std::initializer_list<kernels::MatmulOut> outs, const float* X, int64_t T) const {
  for (const auto& o : outs) see_matmul(o.w, X, T);
  kernels::matmat_group(k, {outs.begin(), outs.size()}, X, T, opt.activations, ws.qscratch.data(),
                        int64_t(ws.qscratch.size()), pool);
}

void LayerContext::parallel(int64_t n, core::FunctionRef<void(int64_t, int)> fn) const {
  const int workers = n_workers();
  if (workers == 1 || n == 1) {
    for (int64_t i = 0; i < n; ++i) fn(i, 0);
    return;
  }
  // Worker w takes items w, w + workers, ...: its index names its scratch.
  pool->parallel_for(size_t(workers), [&](size_t b, size_t e) {
    for (size_t w = b; w < e; ++w)
      for (int64_t i = int64_t(w); i < n; i += workers) fn(i, int(w));
  });
}

namespace {
// One MoE worker: gathered inputs [T][n_embd] and the gate / up rows [T][n_ff_exp] each; int8
// activations of its widest input row (at most kMaxActBytesPer32 per 32 values, plus a block), or
// of its input rows in the two formats an expert's gate and up may need.
uint64_t moe_worker_floats(const ModelConfig& c, int64_t max_tokens) {
  return uint64_t(max_tokens) * (uint64_t(c.n_embd) + 2 * uint64_t(c.n_ff_exp));
}
uint64_t moe_worker_qbytes(const ModelConfig& c, int64_t max_tokens) {
  const uint64_t widest = std::max(2 * uint64_t(c.n_embd), uint64_t(c.n_ff_exp));  // gate and up: two formats
  return uint64_t(max_tokens) * ((widest / 32 + 1) * kernels::kMaxActBytesPer32);
}
}  // namespace

WorkspaceSizes workspace_sizes(const ModelConfig& c, int64_t max_tokens, int n_threads) {
  const int64_t widths[] = {int64_t(c.n_embd),
                            int64_t(2) * c.n_head * c.head_dim,
                            int64_t(c.ssm_conv_channels()),
                            int64_t(c.ssm_d_inner),
                            int64_t(c.n_ff),
                            int64_t(c.n_ff_exp),
                            int64_t(c.n_ff_shexp),
                            int64_t(c.n_expert),
                            int64_t(c.ssm_dt_rank)};
  const int64_t w = *std::max_element(std::begin(widths), std::end(widths));
  WorkspaceSizes z;
  z.hidden_floats = uint64_t(max_tokens) * c.n_embd;
  z.scratch_floats = uint64_t(max_tokens * w);
  // Converted activations of the widest input row (F16 / BF16 rows are the widest format), or of
  // one hidden row in two formats (a projection group over weights of both Q8_0 and K-quant kind).
  const int64_t qw = std::max(w, 2 * int64_t(c.n_embd));
  z.qscratch_bytes = uint64_t(max_tokens) * uint64_t((qw / 32 + 1) * kernels::kMaxActBytesPer32);
  const int64_t group = c.n_head_kv > 0 ? c.n_head / c.n_head_kv : 1;
  z.score_floats =
      uint64_t(n_threads) * uint64_t(kernels::attention_scratch_floats(kAttentionRows * group, c.head_dim));
  if (c.is_moe()) {
    z.moe_worker_floats = moe_worker_floats(c, max_tokens);
    z.moe_worker_qbytes = moe_worker_qbytes(c, max_tokens);
    z.moe_floats = uint64_t(n_threads) * z.moe_worker_floats + uint64_t(max_tokens) * c.n_expert_used * c.n_embd;
    z.moe_qbytes = uint64_t(n_threads) * z.moe_worker_qbytes;
  }
  return z;
}

Workspace make_workspace(const ModelConfig& c, int64_t max_tokens, int n_threads) {
  const WorkspaceSizes z = workspace_sizes(c, max_tokens, n_threads);
  Workspace ws;
  ws.max_tokens = max_tokens;
  ws.n_threads = n_threads;
  ws.residual.assign(z.hidden_floats, 0), ws.normed.assign(z.hidden_floats, 0);
  for (auto& b : ws.scratch) b.assign(z.scratch_floats, 0);
  ws.block_out.assign(z.scratch_floats, 0);
  ws.qscratch.assign(z.qscratch_bytes, 0);
  ws.scores.assign(z.score_floats, 0);
  ws.moe.assign(z.moe_floats, 0);
  ws.moe_q.assign(z.moe_qbytes, 0);
  ws.moe_worker_floats = z.moe_worker_floats, ws.moe_worker_qbytes = z.moe_worker_qbytes;
  ws.gdn_gates.assign(size_t(2 * n_threads) * size_t(max_tokens), 0);
  ws.single.reserve(1);
  ws.segs.reserve(16);
  ws.attention_items.reserve(size_t(max_tokens + 16) * size_t(std::max<int64_t>(c.n_head_kv, 1)));
  if (c.is_moe()) {
    ws.moe_lists.resize(c.n_expert);
    for (auto& l : ws.moe_lists) l.reserve(size_t(max_tokens));
    ws.moe_idx.reserve(c.n_expert), ws.moe_active.reserve(c.n_expert), ws.moe_slot0.reserve(c.n_expert);
  }
  return ws;
}

core::Status forward(const Model& m, SequenceState& s, Workspace& ws, const int32_t* tokens, int64_t n, float* logits,
                     bool all_logits, const ForwardContext& ctx) {
  ws.single.assign(1, BatchEntry{&s, tokens, n, logits, all_logits});
  return forward_batch(m, ws.single, ws, ctx);
}

namespace {

core::Status check_batch(const Model& m, const std::vector<BatchEntry>& batch, const Workspace& ws, int workers,
                         int64_t* rows) {
  const int64_t V = m.config.n_vocab;
  *rows = 0;
  if (workers > ws.n_threads)
    return make_error(ErrorCode::kInvalidArgument, "workspace was made for " + std::to_string(ws.n_threads) +
                                                       " threads, the pool has " + std::to_string(workers));
  for (const auto& e : batch) {
    if (!e.state || e.n <= 0) return make_error(ErrorCode::kInvalidArgument, "no tokens to evaluate");
    const SequenceState& s = *e.state;
    if (s.n_past + e.n > s.n_ctx)
      return make_error(ErrorCode::kInvalidArgument, "context full: " + std::to_string(s.n_past) + " + " +
                                                         std::to_string(e.n) + " tokens exceed n_ctx " +
                                                         std::to_string(s.n_ctx));
    for (int64_t t = 0; t < e.n; ++t)
      if (e.tokens[t] < 0 || e.tokens[t] >= int32_t(V))
        return make_error(ErrorCode::kInvalidArgument, "token id " + std::to_string(e.tokens[t]) + " at position " +
                                                           std::to_string(t) + " is outside the vocabulary (0.." +
                                                           std::to_string(V - 1) + ")");
    *rows += e.n;
  }
  if (*rows == 0) return make_error(ErrorCode::kInvalidArgument, "no tokens to evaluate");
  if (*rows > ws.max_tokens)
    return make_error(ErrorCode::kInvalidArgument,
                      std::to_string(*rows) + " tokens exceed the workspace's " + std::to_string(ws.max_tokens));
  return core::Ok{};
}

// Weights repacked for one kernel table are read only by that table, with int8 activations.
core::Status check_kernels(const Model& m, const kernels::Kernels& k, const ForwardContext& ctx) {
  if (m.packed_for && (m.packed_for != &k || ctx.options.activations != kernels::Activations::kInt8))
    return make_error(ErrorCode::kInvalidArgument,
                      std::string("the weights were repacked for the ") + kernels::isa_name(m.packed_for->isa) +
                          " kernels and int8 activations; this call asks for " + kernels::isa_name(k.isa) +
                          (ctx.options.activations == kernels::Activations::kInt8 ? "" : " with float activations"));
  return core::Ok{};
}

// Layers [first, last) over the n rows of ws.residual: attention or DeltaNet, then the FFN, each
// added to the residual stream.
void run_layers(const LayerContext& c, const std::vector<Segment>& segs, int first, int last, int64_t n) {
  const ModelConfig& cfg = c.m.config;
  const kernels::Kernels& k = c.k;
  const int64_t N = cfg.n_embd;
  float* x = c.ws.residual.data();
  float* a = c.ws.normed.data();
  float* out = c.ws.block_out.data();
  for (int il = first; il < last; ++il) {
    const LayerWeights& L = c.m.layers[size_t(il)];
    for (int64_t t = 0; t < n; ++t) k.rms_norm(x + t * N, L.attn_norm.data(), a + t * N, N, cfg.rms_eps);
    c.observe("attn_norm", il, a, n, N);
    if (L.recurrent)
      deltanet_block(c, il, segs, a, n, out);
    else
      attention_block(c, il, segs, a, n, out);
    for (int64_t i = 0; i < n * N; ++i) x[i] += out[i];
    for (int64_t t = 0; t < n; ++t) k.rms_norm(x + t * N, L.post_norm.data(), a + t * N, N, cfg.rms_eps);
    c.observe("ffn_norm", il, a, n, N);
    ffn_block(c, il, a, n, out);
    for (int64_t i = 0; i < n * N; ++i) x[i] += out[i];
    c.observe("l_out", il, x, n, N);
  }
}

}  // namespace

core::Status forward_batch(const Model& m, std::vector<BatchEntry>& batch, Workspace& ws, const ForwardContext& ctx) {
  const ModelConfig& cfg = m.config;
  const int64_t N = cfg.n_embd, V = cfg.n_vocab;
  int64_t n = 0;
  ONPREM_TRY(check_batch(m, batch, ws, ctx.pool ? ctx.pool->size() : 1, &n));
  const kernels::Kernels& k = ctx.kernels ? *ctx.kernels : kernels::best_kernels();
  ONPREM_TRY(check_kernels(m, k, ctx));
  const LayerContext c{m, k, ctx.pool, ctx.options, ws, ctx.observer, ctx.matmul_observer};
  std::vector<Segment>& segs = ws.segs;
  segs.clear();
  int64_t row = 0;
  for (auto& e : batch) segs.push_back(Segment{e.state, row, e.n, e.state->n_past}), row += e.n;
  float* x = ws.residual.data();
  float* a = ws.normed.data();
  // Embedding rows, decoded from whatever type the table is stored in.
  const auto dequant = quant::dequantizer(m.token_embd.view.type);
  for (size_t si = 0; si < batch.size(); ++si)
    for (int64_t t = 0; t < batch[si].n; ++t)
      dequant(m.token_embd.view.data + int64_t(batch[si].tokens[t]) * m.token_embd.view.row_bytes(),
              x + (segs[si].row0 + t) * N, N);
  c.observe("inp_embd", -1, x, n, N);
  run_layers(c, segs, 0, int(cfg.n_main()), n);
  for (auto& e : batch) e.state->n_past += e.n;
  // Final norm and LM head only for the rows whose logits are wanted, gathered contiguously.
  int64_t rows = 0;
  for (size_t si = 0; si < batch.size(); ++si) {
    const int64_t first = batch[si].all_logits ? 0 : batch[si].n - 1;
    for (int64_t t = first; t < batch[si].n; ++t, ++rows)
      k.rms_norm(x + (segs[si].row0 + t) * N, m.output_norm.data(), a + rows * N, N, cfg.rms_eps);
  }
  c.observe("result_norm", -1, a, rows, N);
  // Single entry: straight into the caller's buffer; several: through the scratch rows.
  if (batch.size() == 1) {
    c.matmul(m.output.view, a, rows, batch[0].logits);
    c.observe("result_output", -1, batch[0].logits, rows, V);
    return core::Ok{};
  }
  ws.logits.resize(size_t(rows * V));
  c.matmul(m.output.view, a, rows, ws.logits.data());
  c.observe("result_output", -1, ws.logits.data(), rows, V);
  int64_t r = 0;
  for (auto& e : batch) {
    const int64_t cnt = e.all_logits ? e.n : 1;
    std::memcpy(e.logits, ws.logits.data() + r * V, size_t(cnt * V) * sizeof(float));
    r += cnt;
  }
  return core::Ok{};
}

core::Status forward_layers(const Model& m, SequenceState& state, Workspace& ws, int64_t n, int first, int last,
                            const ForwardContext& ctx) {
  if (n <= 0 || n > ws.max_tokens || first < 0 || first > last || last > int(m.config.n_main()))
    return make_error(ErrorCode::kInvalidArgument, "forward_layers: " + std::to_string(n) + " rows, layers " +
                                                       std::to_string(first) + ".." + std::to_string(last));
  if (state.n_past + n > state.n_ctx) return make_error(ErrorCode::kInvalidArgument, "context full");
  const kernels::Kernels& k = ctx.kernels ? *ctx.kernels : kernels::best_kernels();
  ONPREM_TRY(check_kernels(m, k, ctx));
  const LayerContext c{m, k, ctx.pool, ctx.options, ws, ctx.observer, ctx.matmul_observer};
  ws.segs.assign(1, Segment{&state, 0, n, state.n_past});
  run_layers(c, ws.segs, first, last, n);
  return core::Ok{};
}

void forward_ffn(const Model& m, Workspace& ws, int layer, int64_t n, const ForwardContext& ctx) {
  const kernels::Kernels& k = ctx.kernels ? *ctx.kernels : kernels::best_kernels();
  const LayerContext c{m, k, ctx.pool, ctx.options, ws, ctx.observer, ctx.matmul_observer};
  ffn_block(c, layer, ws.normed.data(), n, ws.block_out.data());
}

void forward_head(const Model& m, Workspace& ws, int64_t first, int64_t n, float* logits, const ForwardContext& ctx) {
  const ModelConfig& cfg = m.config;
  const int64_t N = cfg.n_embd;
  const kernels::Kernels& k = ctx.kernels ? *ctx.kernels : kernels::best_kernels();
  const LayerContext c{m, k, ctx.pool, ctx.options, ws, ctx.observer, ctx.matmul_observer};
  float* a = ws.normed.data();
  for (int64_t t = first; t < n; ++t)
    k.rms_norm(ws.residual.data() + t * N, m.output_norm.data(), a + (t - first) * N, N, cfg.rms_eps);
  c.matmul(m.output.view, a, n - first, logits);
}

}  // namespace onprem::model
