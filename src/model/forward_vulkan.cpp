#include "model/forward_vulkan.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "backend/vulkan/bandwidth.h"
#include "backend/vulkan/buffer.h"
#include "backend/vulkan/device.h"
#include "backend/vulkan/ops.h"
#include "backend/vulkan/pipeline.h"
#include "core/thread_pool.h"
#include "model/forward.h"
#include "model/rope.h"
#include "quant/dequant.h"

namespace onprem::model {

using core::ErrorCode;
using core::make_error;
using vulkan::Buffer;

namespace {

// A weight matrix on the device: its rows (all experts of a stack) in one buffer.
struct DeviceMatrix {
  Buffer buf;
  core::GgmlType type = core::GgmlType::kF32;
  uint32_t rows = 0, cols = 0, n_expert = 1;
  uint64_t row_bytes = 0, expert_bytes = 0;
};

struct DeviceLayer {
  Buffer attn_norm, post_norm;
  DeviceMatrix qkv, gate, beta, alpha, ssm_out;
  Buffer conv, dt_bias, ssm_a, ssm_norm;
  DeviceMatrix wq, wk, wv, wo;
  Buffer q_norm, k_norm;
  DeviceMatrix ffn_gate, ffn_up, ffn_down;
  DeviceMatrix router, gate_exps, up_exps, down_exps, shexp_gate, gate_shexp, up_shexp, down_shexp;
};

// A forward call as recorded: graphs[i] runs, then (for i < cpu_ffn.size()) the CPU runs layer
// cpu_ffn[i]'s FFN between it and graphs[i + 1] (--cpu-moe).
struct Steps {
  std::vector<std::unique_ptr<vulkan::Graph>> graphs;
  std::vector<int> cpu_ffn;
};

// The device side of one sequence.
struct DeviceState {
  std::vector<Buffer> k, v, conv, ssm;  // by layer; unused kinds and layers on the CPU stay empty
  // The position of the call's first token, written before each run: the attention layers read it
  // on the device, so the one-token steps are recorded once and replayed at every position.
  Buffer pos;
  Steps decode;
  // Layers on the CPU (partial offload): their KV cache and recurrent state.
  SequenceState host;
};

// Scratch for max_tokens tokens, named for what forward_vulkan keeps in them.
struct Scratch {
  Buffer x, a, out;                               // [T][n_embd]: residual, normed, block output
  Buffer u0, u1, z, o, o2, beta, alpha, chunk;    // DeltaNet (chunk: the chunked rule's work rows)
  Buffer qg, qn, kx, kn, vx, att, scores, table;  // attention
  Buffer g, u;                                    // FFN hidden rows (dense, and the shared expert)
  Buffer logits_e, ids, wts, ge, ue, ys, sh, gl;  // MoE
  Buffer logits;                                  // [T][n_vocab]
};

}  // namespace

struct VulkanEngine {
  const Model* model = nullptr;
  std::unique_ptr<vulkan::Device> device;
  std::unique_ptr<vulkan::Ops> ops;
  std::vector<DeviceLayer> layers;
  Buffer output_norm;
  DeviceMatrix output;
  Scratch s;
  int64_t max_tokens = 0, max_ctx = 0;
  uint32_t attention_chunk = 1;  // tokens per attention dispatch (the score scratch's rows)
  core::GgmlType kv_type = core::GgmlType::kF32;
  DeltaNetPrefill prefill = DeltaNetPrefill::kSequential;
  VulkanPlacement place;
  // The CPU's share (partial offload): its pool and workspace, and host-visible rows that carry
  // the hidden state (host_x) and a MoE layer's input and output (host_a, host_out) across.
  std::unique_ptr<core::ThreadPool> pool;
  Workspace ws;
  ForwardContext cpu;
  Buffer host_x, host_a, host_out;
  bool host_work() const { return place.gpu_layers < place.n_layers || place.moe_on_cpu; }
};

namespace {

struct Uploader {
  vulkan::Device& d;
  const VulkanOptions& o;
  bool dry = false;  // counts the bytes (and checks the types) without allocating
  uint64_t done = 0, total = 0;

  core::Status bytes(Buffer& b, const void* src, uint64_t n) {
    if (dry) {
      done += n;
      return core::Ok{};
    }
    std::string error;
    if (!vulkan::create_buffer(d, n, vulkan::Memory::kDevice, b, &error) || !vulkan::upload(b, 0, src, n, &error))
      return make_error(ErrorCode::kResourceExhausted, error);
    done += n;
    if (o.progress) o.progress(done, total);
    return core::Ok{};
  }
  core::Status floats(Buffer& b, const std::vector<float>& v) {
    if (v.empty()) return core::Ok{};
    return bytes(b, v.data(), v.size() * 4);
  }
  core::Status matrix(DeviceMatrix& dm, const Matrix& m) {
    if (!m.present()) return core::Ok{};
    const auto& v = m.view;
    if (!vulkan::matmul_supports(v.type))
      return make_error(ErrorCode::kUnsupported, "the Vulkan backend cannot read " + core::ggml_type_name(v.type) +
                                                     " weights; the CPU path can (--device cpu)");
    dm.type = v.type;
    dm.rows = uint32_t(v.n_rows);
    dm.cols = uint32_t(v.n_cols);
    dm.row_bytes = uint64_t(v.row_bytes());
    dm.n_expert = uint32_t(m.n_expert);
    dm.expert_bytes = uint64_t(m.expert_bytes);
    const uint64_t n = m.n_expert > 1 ? uint64_t(m.n_expert) * dm.expert_bytes : dm.rows * dm.row_bytes;
    return bytes(dm.buf, v.data, n);
  }
  // An f32 vector [rows][cols] as a matrix (the MoE router, the shared expert's gate row).
  core::Status f32_matrix(DeviceMatrix& dm, const std::vector<float>& v, uint32_t rows, uint32_t cols) {
    if (v.empty()) return core::Ok{};
    dm.type = core::GgmlType::kF32;
    dm.rows = rows;
    dm.cols = cols;
    dm.row_bytes = uint64_t(cols) * 4;
    return bytes(dm.buf, v.data(), v.size() * 4);
  }
};

uint64_t matrix_bytes(const Matrix& m) {
  if (!m.present()) return 0;
  return m.n_expert > 1 ? uint64_t(m.n_expert) * uint64_t(m.expert_bytes)
                        : uint64_t(m.view.n_rows) * uint64_t(m.view.row_bytes());
}

core::Status scratch_buffer(vulkan::Device& d, Buffer& b, uint64_t floats) {
  std::string error;
  if (!vulkan::create_buffer(d, std::max<uint64_t>(floats, 1) * 4, vulkan::Memory::kDevice, b, &error))
    return make_error(ErrorCode::kResourceExhausted, error);
  return core::Ok{};
}

core::Status zeroed(vulkan::Device& d, Buffer& b, uint64_t floats) {
  ONPREM_TRY(scratch_buffer(d, b, floats));
  const std::vector<float> zeros(floats, 0.0f);
  std::string error;
  if (!vulkan::upload(b, 0, zeros.data(), floats * 4, &error)) return make_error(ErrorCode::kResourceExhausted, error);
  return core::Ok{};
}

}  // namespace

core::Expected<std::shared_ptr<VulkanEngine>> make_vulkan_engine(const Model& m, const VulkanOptions& o) {
  if (m.packed_for)
    return make_error(ErrorCode::kInvalidArgument,
                      "the weights were repacked for a CPU table; load the model without repacking for the GPU");
  if (o.max_tokens <= 0 || o.max_ctx <= 0)
    return make_error(ErrorCode::kInvalidArgument, "max_tokens and max_ctx must be positive");
  if (m.config.n_attention_layers() > 0 && vulkan::kv_row_bytes(o.kv_type, m.config.n_head_kv * m.config.head_dim) == 0)
    return make_error(ErrorCode::kInvalidArgument,
                      "a KV cache of " + core::ggml_type_name(o.kv_type) + " for " +
                          std::to_string(m.config.n_head_kv * m.config.head_dim) +
                          " values a token: the GPU keeps it in F32, F16, or Q8_0 (rows of a multiple of 64, at most "
                          "4,096)");
  std::string error;
  auto e = std::make_shared<VulkanEngine>();
  e->model = &m;
  e->max_tokens = o.max_tokens;
  e->max_ctx = o.max_ctx;
  e->kv_type = o.kv_type;
  e->prefill = o.prefill;
  e->device = vulkan::open_device(o.device, &error);
  if (!e->device) return make_error(ErrorCode::kIo, error);
  e->ops = std::make_unique<vulkan::Ops>(*e->device);
  const ModelConfig& c = m.config;
  if (o.gpu_layers < -1)
    return make_error(ErrorCode::kInvalidArgument,
                      "--gpu-layers " + std::to_string(o.gpu_layers) + ": expected 0 or more (-1: all)");
  VulkanPlacement& p = e->place;
  p.n_layers = int(m.layers.size());
  p.gpu_layers = o.gpu_layers < 0 ? p.n_layers : std::min(o.gpu_layers, p.n_layers);
  p.head_on_device = p.gpu_layers == p.n_layers;
  p.moe_on_cpu = o.cpu_moe && c.is_moe();
  // The FFN weights that stay in host memory with --cpu-moe (ffn_block reads them all there).
  const auto moe_ffn = [](const LayerWeights& L) {
    return std::vector<const Matrix*>{&L.gate_exps,  &L.up_exps,  &L.down_exps,
                                      &L.gate_shexp, &L.up_shexp, &L.down_shexp};
  };
  // What stays in host memory: the layers left on the CPU, the MoE FFNs with --cpu-moe, the head.
  for (int il = 0; il < p.n_layers; ++il) {
    const LayerWeights& L = m.layers[size_t(il)];
    for (const Matrix* x : {&L.qkv, &L.gate, &L.beta, &L.alpha, &L.ssm_out, &L.wq, &L.wk, &L.wv, &L.wo, &L.ffn_gate,
                            &L.ffn_up, &L.ffn_down})
      if (il >= p.gpu_layers) p.host_weight_bytes += matrix_bytes(*x);
    if (il >= p.gpu_layers || p.moe_on_cpu)
      for (const Matrix* x : moe_ffn(L)) p.host_weight_bytes += matrix_bytes(*x);
  }
  if (!p.head_on_device) p.host_weight_bytes += matrix_bytes(m.output);
  e->layers.resize(m.layers.size());
  // Run twice: a dry pass for the total (the progress line's 100 %) and the weight types, then the upload.
  const auto upload_weights = [&](Uploader& up) -> core::Status {
    for (size_t il = 0; il < size_t(p.gpu_layers); ++il) {
      const LayerWeights& L = m.layers[il];
      DeviceLayer& D = e->layers[il];
      const bool moe_here = !p.moe_on_cpu;
      ONPREM_TRY(up.floats(D.attn_norm, L.attn_norm));
      ONPREM_TRY(up.floats(D.post_norm, L.post_norm));
      for (auto [dst, src] : {std::pair{&D.qkv, &L.qkv},
                              {&D.gate, &L.gate},
                              {&D.beta, &L.beta},
                              {&D.alpha, &L.alpha},
                              {&D.ssm_out, &L.ssm_out},
                              {&D.wq, &L.wq},
                              {&D.wk, &L.wk},
                              {&D.wv, &L.wv},
                              {&D.wo, &L.wo},
                              {&D.ffn_gate, &L.ffn_gate},
                              {&D.ffn_up, &L.ffn_up},
                              {&D.ffn_down, &L.ffn_down}})
        ONPREM_TRY(up.matrix(*dst, *src));
      if (moe_here)
        for (auto [dst, src] : {std::pair{&D.gate_exps, &L.gate_exps},
                                {&D.up_exps, &L.up_exps},
                                {&D.down_exps, &L.down_exps},
                                {&D.gate_shexp, &L.gate_shexp},
                                {&D.up_shexp, &L.up_shexp},
                                {&D.down_shexp, &L.down_shexp}})
          ONPREM_TRY(up.matrix(*dst, *src));
      for (auto [dst, src] : {std::pair{&D.conv, &L.conv},
                              {&D.dt_bias, &L.dt_bias},
                              {&D.ssm_a, &L.ssm_a},
                              {&D.ssm_norm, &L.ssm_norm},
                              {&D.q_norm, &L.q_norm},
                              {&D.k_norm, &L.k_norm}})
        ONPREM_TRY(up.floats(*dst, *src));
      if (moe_here) {
        ONPREM_TRY(up.f32_matrix(D.router, L.router, c.n_expert, c.n_embd));
        ONPREM_TRY(up.f32_matrix(D.shexp_gate, L.shexp_gate, 1, c.n_embd));
      }
    }
    if (p.head_on_device) {
      ONPREM_TRY(up.floats(e->output_norm, m.output_norm));
      ONPREM_TRY(up.matrix(e->output, m.output));
    }
    return core::Ok{};
  };
  Uploader count{*e->device, o};
  count.dry = true;
  ONPREM_TRY(upload_weights(count));
  Uploader up{*e->device, o};
  up.total = count.done;
  ONPREM_TRY(upload_weights(up));
  p.device_weight_bytes = up.done;

  // Scratch, sized as the CPU workspace is, for max_tokens tokens.
  vulkan::Device& d = *e->device;
  Scratch& s = e->s;
  const uint64_t T = uint64_t(o.max_tokens), N = c.n_embd, D = c.head_dim;
  const uint64_t k_used = std::max<uint32_t>(c.n_expert_used, 1);
  for (Buffer* b : {&s.x, &s.a, &s.out, &s.sh}) ONPREM_TRY(scratch_buffer(d, *b, T * N));
  for (Buffer* b : {&s.u0, &s.u1}) ONPREM_TRY(scratch_buffer(d, *b, T * c.ssm_conv_channels()));
  for (Buffer* b : {&s.z, &s.o, &s.o2}) ONPREM_TRY(scratch_buffer(d, *b, T * c.ssm_d_inner));
  for (Buffer* b : {&s.beta, &s.alpha}) ONPREM_TRY(scratch_buffer(d, *b, T * c.ssm_dt_rank));
  if (o.prefill == DeltaNetPrefill::kChunked)
    ONPREM_TRY(
        scratch_buffer(d, s.chunk, uint64_t(c.ssm_dt_rank) * 64 * (2 * c.ssm_d_state + 1)));  // [Hv][64][dv + dk + 1]
  ONPREM_TRY(scratch_buffer(d, s.qg, T * c.n_head * 2 * D));
  for (Buffer* b : {&s.qn, &s.att}) ONPREM_TRY(scratch_buffer(d, *b, T * c.n_head * D));
  for (Buffer* b : {&s.kx, &s.kn, &s.vx}) ONPREM_TRY(scratch_buffer(d, *b, T * c.n_head_kv * D));
  const uint64_t row_floats = uint64_t(std::max<uint32_t>(c.n_head, 1)) * uint64_t(o.max_ctx);
  e->attention_chunk = uint32_t(std::clamp<uint64_t>(o.attention_score_bytes / 4 / row_floats, 1, T));
  ONPREM_TRY(scratch_buffer(d, s.scores, e->attention_chunk * row_floats));
  // Written by the host before every call and read a few times: host-visible, so that a decode
  // step writes it with a copy in memory instead of a staged transfer.
  if (!vulkan::create_buffer(d, std::max<uint64_t>(T * c.n_rot, 1) * 4, vulkan::Memory::kHost, s.table, &error))
    return make_error(ErrorCode::kResourceExhausted, error);
  const uint64_t hidden = std::max<uint64_t>(c.n_ff, c.n_ff_shexp);
  for (Buffer* b : {&s.g, &s.u}) ONPREM_TRY(scratch_buffer(d, *b, T * hidden));
  ONPREM_TRY(scratch_buffer(d, s.logits_e, T * c.n_expert));
  for (Buffer* b : {&s.ids, &s.wts}) ONPREM_TRY(scratch_buffer(d, *b, T * k_used));
  for (Buffer* b : {&s.ge, &s.ue}) ONPREM_TRY(scratch_buffer(d, *b, T * k_used * c.n_ff_exp));
  ONPREM_TRY(scratch_buffer(d, s.ys, T * k_used * N));
  ONPREM_TRY(scratch_buffer(d, s.gl, T));
  ONPREM_TRY(scratch_buffer(d, s.logits, T * c.n_vocab));
  if (e->host_work()) {
    e->pool = std::make_unique<core::ThreadPool>(core::threads_or_all(o.threads));
    e->ws = make_workspace(c, o.max_tokens, e->pool->size());
    e->cpu.pool = e->pool.get();
    for (Buffer* b : {&e->host_x, &e->host_a, &e->host_out})
      if (!vulkan::create_buffer(d, T * N * 4, vulkan::Memory::kHost, *b, &error))
        return make_error(ErrorCode::kResourceExhausted, error);
  }
  return e;
}

VulkanPlacement vulkan_placement(const VulkanEngine& e) { return e.place; }

core::Expected<VulkanSequence> make_vulkan_sequence(VulkanEngine& e, int64_t n_ctx) {
  if (n_ctx <= 0 || n_ctx > e.max_ctx)
    return make_error(ErrorCode::kInvalidArgument, "a Vulkan sequence of " + std::to_string(n_ctx) +
                                                       " tokens: the engine was made for at most " +
                                                       std::to_string(e.max_ctx));
  const ModelConfig& c = e.model->config;
  auto st = std::make_shared<DeviceState>();
  const size_t L = e.model->layers.size();
  st->k.resize(L), st->v.resize(L), st->conv.resize(L), st->ssm.resize(L);
  for (size_t il = 0; il < size_t(e.place.gpu_layers); ++il) {
    vulkan::Device& d = *e.device;
    if (e.model->layers[il].recurrent) {
      ONPREM_TRY(zeroed(d, st->conv[il], uint64_t(c.ssm_conv_channels()) * (c.ssm_conv_kernel - 1)));
      ONPREM_TRY(zeroed(d, st->ssm[il], uint64_t(c.ssm_dt_rank) * c.ssm_d_state * c.ssm_d_state));
    } else {
      const uint64_t kv = uint64_t(n_ctx) * vulkan::kv_row_bytes(e.kv_type, c.n_head_kv * c.head_dim) / 4;
      ONPREM_TRY(zeroed(d, st->k[il], kv));
      ONPREM_TRY(zeroed(d, st->v[il], kv));
    }
  }
  std::string error;  // the position: host-visible, rewritten before every call (see Scratch::table)
  const uint32_t zero = 0;
  if (!vulkan::create_buffer(*e.device, 4, vulkan::Memory::kHost, st->pos, &error) ||
      !vulkan::upload(st->pos, 0, &zero, 4, &error))
    return make_error(ErrorCode::kResourceExhausted, error);
  if (e.host_work()) st->host = make_state(c, n_ctx, e.place.gpu_layers);
  VulkanSequence s;
  s.n_ctx = n_ctx;
  s.buffers = st;
  return s;
}

core::Status vulkan_read_recurrent(VulkanEngine&, const VulkanSequence& s, SequenceState& host) {
  const auto& st = *static_cast<const DeviceState*>(s.buffers.get());
  std::string error;
  for (size_t il = 0; il < host.conv.size() && il < st.conv.size(); ++il) {
    if (host.conv[il].empty()) continue;
    if (!st.conv[il].buffer) {  // a layer on the CPU
      host.conv[il] = st.host.conv[il], host.ssm[il] = st.host.ssm[il];
      continue;
    }
    if (!vulkan::download(st.conv[il], 0, host.conv[il].data(), host.conv[il].size() * 4, &error) ||
        !vulkan::download(st.ssm[il], 0, host.ssm[il].data(), host.ssm[il].size() * 4, &error))
      return make_error(ErrorCode::kIo, error);
  }
  host.n_past = s.n_past;
  return core::Ok{};
}

core::Status vulkan_write_recurrent(VulkanEngine&, VulkanSequence& s, const SequenceState& host) {
  auto& st = *static_cast<DeviceState*>(s.buffers.get());
  std::string error;
  for (size_t il = 0; il < host.conv.size() && il < st.conv.size(); ++il) {
    if (host.conv[il].empty()) continue;
    if (!st.conv[il].buffer) {  // a layer on the CPU
      st.host.conv[il] = host.conv[il], st.host.ssm[il] = host.ssm[il];
      continue;
    }
    if (!vulkan::upload(st.conv[il], 0, host.conv[il].data(), host.conv[il].size() * 4, &error) ||
        !vulkan::upload(st.ssm[il], 0, host.ssm[il].data(), host.ssm[il].size() * 4, &error))
      return make_error(ErrorCode::kIo, error);
  }
  s.n_past = host.n_past;
  s.rope_factor = host.rope_factor;
  return core::Ok{};
}

namespace {
// A snapshot's contents: the device layers' conv and recurrent state back to back in one buffer
// (layer by layer, conv then state), and the CPU layers' on the host.
struct SnapshotData {
  Buffer device;
  std::vector<std::vector<float>> conv, ssm;  // the CPU's layers
};

// Records copies between a sequence's recurrent buffers and a snapshot buffer, either way.
core::Status copy_recurrent(VulkanEngine& e, DeviceState& st, Buffer& snap, bool to_snapshot) {
  vulkan::Graph g(*e.device);
  std::string error;
  uint32_t at = 0;
  for (size_t il = 0; il < st.conv.size(); ++il)
    for (Buffer* b : {&st.conv[il], &st.ssm[il]}) {
      if (!b->buffer) continue;
      const uint32_t n = uint32_t(b->bytes / 4);
      const bool ok = to_snapshot ? e.ops->eltwise(g, vulkan::Eltwise::kCopy, *b, 0, *b, 0, snap, at, n, &error)
                                  : e.ops->eltwise(g, vulkan::Eltwise::kCopy, snap, at, snap, at, *b, 0, n, &error);
      if (!ok) return make_error(ErrorCode::kIo, error);
      at += n;
    }
  if (at > 0 && !g.run(&error)) return make_error(ErrorCode::kIo, error);
  return core::Ok{};
}
}  // namespace

core::Expected<VulkanSnapshot> vulkan_take_snapshot(VulkanEngine& e, const VulkanSequence& s) {
  auto& st = *static_cast<DeviceState*>(s.buffers.get());
  auto data = std::make_shared<SnapshotData>();
  VulkanSnapshot snap;
  for (size_t il = 0; il < st.conv.size(); ++il) {
    if (st.conv[il].buffer) snap.device_bytes += st.conv[il].bytes + st.ssm[il].bytes;
  }
  std::string error;
  if (snap.device_bytes > 0) {
    if (!vulkan::create_buffer(*e.device, snap.device_bytes, vulkan::Memory::kDevice, data->device, &error))
      return make_error(ErrorCode::kResourceExhausted, error);
    ONPREM_TRY(copy_recurrent(e, st, data->device, true));
  }
  if (e.host_work()) {
    data->conv = st.host.conv, data->ssm = st.host.ssm;
    for (size_t il = 0; il < st.conv.size(); ++il)
      if (!st.conv[il].buffer) snap.host_bytes += (data->conv[il].size() + data->ssm[il].size()) * 4;
  }
  snap.data = data;
  return snap;
}

core::Status vulkan_restore_snapshot(VulkanEngine& e, VulkanSequence& s, const VulkanSnapshot& snap, int64_t pos) {
  auto& st = *static_cast<DeviceState*>(s.buffers.get());
  auto* data = static_cast<SnapshotData*>(snap.data.get());
  if (!data) return make_error(ErrorCode::kInvalidArgument, "an empty snapshot");
  if (data->device.buffer) ONPREM_TRY(copy_recurrent(e, st, data->device, false));
  for (size_t il = 0; il < st.conv.size() && il < data->conv.size(); ++il)
    if (!st.conv[il].buffer && !data->conv[il].empty())
      st.host.conv[il] = data->conv[il], st.host.ssm[il] = data->ssm[il];
  s.n_past = pos;
  st.host.n_past = pos;
  return core::Ok{};
}

double vulkan_copy_bandwidth(VulkanEngine& e, uint64_t bytes) {
  vulkan::CopyBandwidth bw;
  std::string error;
  return vulkan::measure_copy_bandwidth(*e.device, *e.ops, bytes, 5, bw, &error) ? bw.read_bytes_per_second : 0;
}

std::string vulkan_engine_device(const VulkanEngine& e) { return e.device->info.name + ", " + e.device->info.type; }

namespace {

// Records one forward call; every op reports the first failure through `error`.
struct Recorder {
  VulkanEngine& e;
  vulkan::Graph* g;  // the graph being recorded (a --cpu-moe call has several)
  std::string error;
  bool ok = true;

  void check(bool r) { ok = ok && r; }
  void matmul(const DeviceMatrix& w, const Buffer& x, uint32_t x_stride, const Buffer& y, uint32_t y_stride,
              uint32_t tokens, uint32_t x_offset = 0) {
    if (!ok) return;
    vulkan::MatmulArgs a;
    a.type = w.type;
    a.rows = w.rows;
    a.cols = w.cols;
    a.tokens = tokens;
    a.row_bytes = w.row_bytes;
    a.x_offset = x_offset;
    a.x_stride = x_stride;
    a.y_stride = y_stride;
    check(e.ops->matmul(*g, w.buf, x, y, a, &error));
  }
  void experts(const DeviceMatrix& w, const Buffer& x, uint32_t x_stride, uint32_t x_div, const Buffer& y,
               uint32_t slots) {
    if (!ok) return;
    vulkan::MatmulArgs a;
    a.type = w.type;
    a.rows = w.rows;
    a.cols = w.cols;
    a.tokens = slots;
    a.row_bytes = w.row_bytes;
    a.x_stride = x_stride;
    a.y_stride = w.rows;
    a.ids = &e.s.ids;
    a.expert_bytes = w.expert_bytes;
    a.n_expert = w.n_expert;
    a.x_div = x_div;
    check(e.ops->matmul(*g, w.buf, x, y, a, &error));
  }
  void norm(const Buffer& w, const Buffer& x, const Buffer& y, uint32_t n, uint32_t tokens, uint32_t x_stride,
            uint32_t y_stride, uint32_t x_offset = 0, uint32_t y_offset = 0) {
    if (!ok) return;
    vulkan::RmsNormArgs a;
    a.n = n;
    a.tokens = tokens;
    a.x_offset = x_offset;
    a.x_stride = x_stride;
    a.y_offset = y_offset;
    a.y_stride = y_stride;
    a.eps = e.model->config.rms_eps;
    check(e.ops->rms_norm(*g, w, x, y, a, &error));
  }
  void elt(vulkan::Eltwise op, const Buffer& a, const Buffer& b, const Buffer& y, uint64_t n, uint32_t y_offset = 0) {
    if (!ok) return;
    check(e.ops->eltwise(*g, op, a, 0, b, 0, y, y_offset, uint32_t(n), &error));
  }
};

// One sequence's rows in a call: rows [row0, row0 + n) of the scratch buffers, its device state
// and capacity, and whether every row's logits are wanted (else its last row's).
struct Seg {
  DeviceState* st;
  uint32_t row0, n, n_ctx;
  bool all_logits;
};

// Projections, norms and the FFN run over every row of the call at once (one pass over the
// weights for all sequences); the conv, the rules, the cache writes and attention per sequence.
void deltanet(Recorder& r, const DeviceLayer& L, const std::vector<Seg>& segs, size_t il, uint32_t T) {
  const ModelConfig& c = r.e.model->config;
  Scratch& s = r.e.s;
  const uint32_t Ch = c.ssm_conv_channels(), Vd = c.ssm_d_inner, Hv = c.ssm_dt_rank, Hk = c.ssm_n_group;
  const uint32_t dk = c.ssm_d_state, dv = c.ssm_d_state;
  r.matmul(L.qkv, s.a, c.n_embd, s.u0, Ch, T);
  r.matmul(L.gate, s.a, c.n_embd, s.z, Vd, T);
  r.matmul(L.beta, s.a, c.n_embd, s.beta, Hv, T);
  r.matmul(L.alpha, s.a, c.n_embd, s.alpha, Hv, T);
  vulkan::DeltaNetArgs a;
  a.tokens = T, a.channels = Ch, a.taps = c.ssm_conv_kernel, a.hk = Hk, a.hv = Hv, a.dk = dk, a.dv = dv;
  if (!r.ok) return;
  auto& ops = *r.e.ops;
  for (const Seg& sg : segs) {
    vulkan::DeltaNetArgs one = a;
    one.row0 = sg.row0, one.tokens = sg.n;
    if (r.ok) r.check(ops.deltanet_conv(*r.g, s.u0, L.conv, sg.st->conv[il], s.u1, one, &r.error));
  }
  if (r.ok) r.check(ops.l2_norm(*r.g, s.u1, dk, T * Hk, Hk, Ch, 0, c.rms_eps, 1.0f / std::sqrt(float(dk)), &r.error));
  if (r.ok) r.check(ops.l2_norm(*r.g, s.u1, dk, T * Hk, Hk, Ch, Hk * dk, c.rms_eps, 1.0f, &r.error));
  if (r.ok) r.check(ops.deltanet_gates(*r.g, s.beta, s.alpha, L.dt_bias, L.ssm_a, a, &r.error));
  for (const Seg& sg : segs) {
    vulkan::DeltaNetArgs one = a;
    one.row0 = sg.row0, one.tokens = sg.n;
    if (r.ok && sg.n > 1 && r.e.prefill == DeltaNetPrefill::kChunked)
      r.check(ops.deltanet_rule_chunked(*r.g, s.u1, s.beta, s.alpha, sg.st->ssm[il], s.o, s.chunk, one, &r.error));
    else if (r.ok)
      r.check(ops.deltanet_rule(*r.g, s.u1, s.beta, s.alpha, sg.st->ssm[il], s.o, one, &r.error));
  }
  // Gated RMSNorm per v head: rms_norm(o) * ssm_norm * silu(z).
  r.norm(L.ssm_norm, s.o, s.o2, dv, T * Hv, dv, dv);
  r.elt(vulkan::Eltwise::kSwiglu, s.z, s.o2, s.o2, uint64_t(T) * Vd);
  r.matmul(L.ssm_out, s.o2, Vd, s.out, c.n_embd, T);
}

void attention(Recorder& r, const DeviceLayer& L, const std::vector<Seg>& segs, size_t il, uint32_t T) {
  const ModelConfig& c = r.e.model->config;
  Scratch& s = r.e.s;
  const uint32_t D = c.head_dim, Hq = c.n_head, Hkv = c.n_head_kv, half = c.n_rot / 2;
  r.matmul(L.wq, s.a, c.n_embd, s.qg, Hq * 2 * D, T);
  r.matmul(L.wk, s.a, c.n_embd, s.kx, Hkv * D, T);
  r.matmul(L.wv, s.a, c.n_embd, s.vx, Hkv * D, T);
  r.norm(L.q_norm, s.qg, s.qn, D, T * Hq, 2 * D, D);
  r.norm(L.k_norm, s.kx, s.kn, D, T * Hkv, D, D);
  const uint32_t row = Hkv * D;
  if (!r.ok) return;
  auto& ops = *r.e.ops;
  const core::GgmlType kv = r.e.kv_type;
  r.check(ops.rope(*r.g, s.qn, s.table, T, Hq, D, Hq * D, 0, half, &r.error));
  if (r.ok) r.check(ops.rope(*r.g, s.kn, s.table, T, Hkv, D, row, 0, half, &r.error));
  for (const Seg& sg : segs) {
    // The sequence's cache rows start at the position in its pos buffer (at most n_ctx - n); K
    // and V go there in the cache's type once K is normed and turned.
    const vulkan::DevicePos pos{&sg.st->pos, sg.n_ctx - sg.n};
    DeviceState& st = *sg.st;
    if (r.ok) r.check(ops.kv_store(*r.g, s.kn, sg.row0 * row, st.k[il], kv, row, sg.n, pos, &r.error));
    if (r.ok) r.check(ops.kv_store(*r.g, s.vx, sg.row0 * row, st.v[il], kv, row, sg.n, pos, &r.error));
    vulkan::AttentionArgs a;
    a.kv_type = kv;
    a.row0 = sg.row0, a.head_dim = D, a.n_head = Hq, a.n_head_kv = Hkv, a.pos = pos;
    a.score_stride = uint32_t(r.e.max_ctx);
    a.scale = 1.0f / std::sqrt(float(D));
    for (uint32_t t0 = 0; t0 < sg.n && r.ok; t0 += r.e.attention_chunk) {
      a.first_token = t0;
      a.tokens = std::min(r.e.attention_chunk, sg.n - t0);
      r.check(ops.attention(*r.g, s.qn, s.qg, st.k[il], st.v[il], s.scores, s.att, a, &r.error));
    }
  }
  r.matmul(L.wo, s.att, Hq * D, s.out, c.n_embd, T);
}

void ffn(Recorder& r, const DeviceLayer& L, uint32_t T) {
  const ModelConfig& c = r.e.model->config;
  Scratch& s = r.e.s;
  const uint32_t N = c.n_embd;
  if (!c.is_moe()) {
    r.matmul(L.ffn_gate, s.a, N, s.g, c.n_ff, T);
    r.matmul(L.ffn_up, s.a, N, s.u, c.n_ff, T);
    r.elt(vulkan::Eltwise::kSwiglu, s.g, s.u, s.g, uint64_t(T) * c.n_ff);
    r.matmul(L.ffn_down, s.g, c.n_ff, s.out, N, T);
    return;
  }
  const uint32_t E = c.n_expert, k = c.n_expert_used, F = c.n_ff_exp;
  r.matmul(L.router, s.a, N, s.logits_e, E, T);
  if (r.ok) r.check(r.e.ops->moe_route(*r.g, s.logits_e, s.ids, s.wts, T, E, k, &r.error));
  r.experts(L.gate_exps, s.a, N, k, s.ge, T * k);
  r.experts(L.up_exps, s.a, N, k, s.ue, T * k);
  r.elt(vulkan::Eltwise::kSwiglu, s.ge, s.ue, s.ge, uint64_t(T) * k * F);
  r.experts(L.down_exps, s.ge, F, 1, s.ys, T * k);
  if (r.ok) r.check(r.e.ops->moe_combine(*r.g, s.ys, s.wts, s.out, T, N, k, &r.error));
  if (!L.shexp_gate.buf.buffer) return;
  const uint32_t Fs = c.n_ff_shexp;
  r.matmul(L.gate_shexp, s.a, N, s.g, Fs, T);
  r.matmul(L.up_shexp, s.a, N, s.u, Fs, T);
  r.elt(vulkan::Eltwise::kSwiglu, s.g, s.u, s.g, uint64_t(T) * Fs);
  r.matmul(L.down_shexp, s.g, Fs, s.sh, N, T);
  r.matmul(L.shexp_gate, s.a, N, s.gl, 1, T);
  if (r.ok) r.check(r.e.ops->moe_shared(*r.g, s.sh, s.gl, s.out, T, N, &r.error));
}

// Records a call of T rows (one or more sequences): the device's layers, then the head there (the
// wanted rows of every sequence, in order) or the last hidden rows copied to the host for the
// layers left on the CPU (one sequence). A --cpu-moe call is cut at every MoE FFN.
core::Status record(VulkanEngine& e, const std::vector<Seg>& segs, uint32_t T, Steps& out) {
  const Model& m = *e.model;
  const ModelConfig& c = m.config;
  const uint32_t N = c.n_embd;
  const uint64_t rows_n = uint64_t(T) * N;
  Scratch& s = e.s;
  if (e.place.gpu_layers == 0) return core::Ok{};  // everything on the CPU
  out.graphs.push_back(std::make_unique<vulkan::Graph>(*e.device));
  Recorder r{e, out.graphs.back().get(), {}, true};
  for (int il = 0; il < e.place.gpu_layers; ++il) {
    const DeviceLayer& L = e.layers[size_t(il)];
    r.norm(L.attn_norm, s.x, s.a, N, T, N, N);
    if (m.layers[size_t(il)].recurrent)
      deltanet(r, L, segs, size_t(il), T);
    else
      attention(r, L, segs, size_t(il), T);
    r.elt(vulkan::Eltwise::kAdd, s.x, s.out, s.x, rows_n);
    r.norm(L.post_norm, s.x, s.a, N, T, N, N);
    if (e.place.moe_on_cpu) {
      // The FFN's input goes to the host and its output comes back: the CPU runs it between graphs.
      r.elt(vulkan::Eltwise::kCopy, s.a, s.a, e.host_a, rows_n);
      out.cpu_ffn.push_back(il);
      out.graphs.push_back(std::make_unique<vulkan::Graph>(*e.device));
      r.g = out.graphs.back().get();
      r.elt(vulkan::Eltwise::kCopy, e.host_out, e.host_out, s.out, rows_n);
    } else {
      ffn(r, L, T);
    }
    r.elt(vulkan::Eltwise::kAdd, s.x, s.out, s.x, rows_n);
  }
  if (e.place.head_on_device) {
    uint32_t rows = 0;  // the wanted rows, gathered in s.a
    for (const Seg& sg : segs) {
      const uint32_t first = sg.all_logits ? 0 : sg.n - 1;
      r.norm(e.output_norm, s.x, s.a, N, sg.n - first, N, N, (sg.row0 + first) * N, rows * N);
      rows += sg.n - first;
    }
    r.matmul(e.output, s.a, N, s.logits, c.n_vocab, rows);
  } else {
    r.elt(vulkan::Eltwise::kCopy, s.x, s.x, e.host_x, rows_n);
  }
  if (!r.ok) return make_error(ErrorCode::kInvalidArgument, r.error);
  return core::Ok{};
}

// Runs recorded steps, with the CPU's MoE FFNs between the graphs.
core::Status run_steps(VulkanEngine& e, Steps& steps, uint32_t T) {
  std::string error;
  const uint64_t bytes = uint64_t(T) * e.model->config.n_embd * 4;
  for (size_t i = 0; i < steps.graphs.size(); ++i) {
    if (!steps.graphs[i]->run(&error)) return make_error(ErrorCode::kIo, error);
    if (i >= steps.cpu_ffn.size()) continue;
    if (!vulkan::download(e.host_a, 0, e.ws.normed.data(), bytes, &error)) return make_error(ErrorCode::kIo, error);
    forward_ffn(*e.model, e.ws, steps.cpu_ffn[i], T, e.cpu);
    if (!vulkan::upload(e.host_out, 0, e.ws.block_out.data(), bytes, &error)) return make_error(ErrorCode::kIo, error);
  }
  return core::Ok{};
}

}  // namespace

namespace {

// A sequence's part of a call: n tokens (1 to the engine's max), room in its context, ids in the vocabulary.
core::Status check_call(const VulkanEngine& e, const VulkanSequence& seq, const int32_t* tokens, int64_t n) {
  const int64_t V = e.model->config.n_vocab;
  if (n <= 0 || n > e.max_tokens)
    return make_error(ErrorCode::kInvalidArgument,
                      std::to_string(n) + " tokens: a Vulkan call takes 1 to " + std::to_string(e.max_tokens));
  if (!seq.buffers) return make_error(ErrorCode::kInvalidArgument, "a Vulkan sequence that was never made");
  if (seq.n_past + n > seq.n_ctx)
    return make_error(ErrorCode::kInvalidArgument, "context full: " + std::to_string(seq.n_past) + " + " +
                                                       std::to_string(n) + " tokens exceed n_ctx " +
                                                       std::to_string(seq.n_ctx));
  for (int64_t t = 0; t < n; ++t)
    if (tokens[t] < 0 || tokens[t] >= int32_t(V))
      return make_error(ErrorCode::kInvalidArgument, "token id " + std::to_string(tokens[t]) + " at position " +
                                                         std::to_string(t) + " is outside the vocabulary (0.." +
                                                         std::to_string(V - 1) + ")");
  return core::Ok{};
}

// Embedding rows (decoded on the host) and RoPE rows for n tokens at row0.. of the host copies.
void embed_rows(const VulkanEngine& e, const VulkanSequence& seq, const int32_t* tokens, int64_t n, int64_t row0,
                std::vector<float>& x, std::vector<float>& table) {
  const Model& m = *e.model;
  const ModelConfig& c = m.config;
  const int64_t N = c.n_embd;
  const auto dequant = quant::dequantizer(m.token_embd.view.type);
  for (int64_t t = 0; t < n; ++t)
    dequant(m.token_embd.view.data + int64_t(tokens[t]) * m.token_embd.view.row_bytes(), x.data() + (row0 + t) * N, N);
  if (c.n_attention_layers() > 0)
    for (int64_t t = 0; t < n; ++t)
      rope_cos_sin(seq.n_past + t, c, seq.rope_factor, table.data() + (row0 + t) * c.n_rot);
}

}  // namespace

bool vulkan_batches(const VulkanEngine& e) { return !e.host_work(); }

core::Status forward_vulkan_batch(VulkanEngine& e, std::vector<VulkanBatchEntry>& batch) {
  const ModelConfig& c = e.model->config;
  const int64_t N = c.n_embd, V = c.n_vocab;
  if (e.host_work())
    return make_error(ErrorCode::kInvalidArgument,
                      "a batch of sequences needs every layer on the device (no --gpu-layers or --cpu-moe split)");
  int64_t rows = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const VulkanBatchEntry& b = batch[i];
    if (!b.seq) return make_error(ErrorCode::kInvalidArgument, "a batch entry without a sequence");
    ONPREM_TRY(check_call(e, *b.seq, b.tokens, b.n));
    for (size_t j = 0; j < i; ++j)
      if (batch[j].seq->buffers == b.seq->buffers)
        return make_error(ErrorCode::kInvalidArgument, "a sequence twice in one batch");
    rows += b.n;
  }
  if (rows == 0) return make_error(ErrorCode::kInvalidArgument, "an empty batch");
  if (rows > e.max_tokens)
    return make_error(ErrorCode::kInvalidArgument, std::to_string(rows) + " tokens in a batch: a Vulkan call takes " +
                                                       "at most " + std::to_string(e.max_tokens));
  Scratch& s = e.s;
  std::vector<float> x(size_t(rows * N)), table(size_t(rows) * c.n_rot);
  std::vector<Seg> segs;
  std::string error;
  int64_t row0 = 0;
  for (auto& b : batch) {
    auto& st = *static_cast<DeviceState*>(b.seq->buffers.get());
    embed_rows(e, *b.seq, b.tokens, b.n, row0, x, table);
    const uint32_t pos0 = uint32_t(b.seq->n_past);
    if (!vulkan::upload(st.pos, 0, &pos0, 4, &error)) return make_error(ErrorCode::kIo, error);
    segs.push_back(Seg{&st, uint32_t(row0), uint32_t(b.n), uint32_t(b.seq->n_ctx), b.all_logits});
    row0 += b.n;
  }
  if (!vulkan::upload(s.x, 0, x.data(), x.size() * 4, &error)) return make_error(ErrorCode::kIo, error);
  if (c.n_attention_layers() > 0 && !vulkan::upload(s.table, 0, table.data(), table.size() * 4, &error))
    return make_error(ErrorCode::kIo, error);
  Steps steps;
  ONPREM_TRY(record(e, segs, uint32_t(rows), steps));
  ONPREM_TRY(run_steps(e, steps, uint32_t(rows)));
  uint64_t at = 0;  // the wanted rows come back in the batch's order
  for (auto& b : batch) {
    const uint64_t n = b.all_logits ? uint64_t(b.n) : 1;
    if (!vulkan::download(s.logits, at * V * 4, b.logits, n * V * 4, &error)) return make_error(ErrorCode::kIo, error);
    at += n;
    b.seq->n_past += b.n;
  }
  return core::Ok{};
}

core::Status forward_vulkan(VulkanEngine& e, VulkanSequence& seq, const int32_t* tokens, int64_t n, float* logits,
                            bool all_logits) {
  const Model& m = *e.model;
  const ModelConfig& c = m.config;
  const int64_t N = c.n_embd, V = c.n_vocab;
  ONPREM_TRY(check_call(e, seq, tokens, n));
  auto& st = *static_cast<DeviceState*>(seq.buffers.get());
  Scratch& s = e.s;
  const uint32_t T = uint32_t(n), pos0 = uint32_t(seq.n_past);
  std::string error;
  // Embedding rows and the RoPE table: computed here, uploaded before the graph runs.
  std::vector<float> host(size_t(n * N)), table(size_t(n) * c.n_rot);
  embed_rows(e, seq, tokens, n, 0, host, table);
  if (!vulkan::upload(s.x, 0, host.data(), host.size() * 4, &error)) return make_error(ErrorCode::kIo, error);
  if (c.n_attention_layers() > 0 && !vulkan::upload(s.table, 0, table.data(), table.size() * 4, &error))
    return make_error(ErrorCode::kIo, error);
  if (!vulkan::upload(st.pos, 0, &pos0, 4, &error)) return make_error(ErrorCode::kIo, error);
  // One token: the sequence's recorded steps, replayed; more: steps for this call.
  Steps fresh;
  Steps* steps = &st.decode;
  if (st.decode.graphs.empty() || T != 1) {
    ONPREM_TRY(record(e, {Seg{&st, 0, T, uint32_t(seq.n_ctx), all_logits}}, T, fresh));
    steps = &fresh;
  }
  ONPREM_TRY(run_steps(e, *steps, T));
  if (T == 1 && steps == &fresh) st.decode = std::move(fresh);
  const uint32_t rows = all_logits ? T : 1;
  if (e.place.head_on_device) {
    if (!vulkan::download(s.logits, 0, logits, uint64_t(rows) * V * 4, &error))
      return make_error(ErrorCode::kIo, error);
  } else {
    // The layers left on the CPU, then the head, from the device's last hidden rows.
    Workspace& ws = e.ws;
    if (e.place.gpu_layers > 0) {
      if (!vulkan::download(e.host_x, 0, ws.residual.data(), uint64_t(n) * N * 4, &error))
        return make_error(ErrorCode::kIo, error);
    } else {
      std::copy(host.begin(), host.end(), ws.residual.begin());
    }
    st.host.n_past = seq.n_past, st.host.rope_factor = seq.rope_factor;
    ONPREM_TRY(forward_layers(m, st.host, ws, n, e.place.gpu_layers, e.place.n_layers, e.cpu));
    forward_head(m, ws, n - rows, n, logits, e.cpu);
  }
  seq.n_past += n;
  st.host.n_past = seq.n_past;
  return core::Ok{};
}

}  // namespace onprem::model
