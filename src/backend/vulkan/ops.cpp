#include "backend/vulkan/ops.h"

#include <algorithm>
#include <vector>

#include "quant/iq_grids.h"

namespace onprem::vulkan {

namespace {

using core::GgmlType;

// Each must match the push-constant block of its shader.
struct MatmulPush {
  uint32_t rows, cols, row_bytes, w_offset, x_offset, x_stride, y_offset, y_stride, expert_bytes, x_div, tokens;
};
struct RmsNormPush {
  uint32_t n, x_offset, x_stride, y_offset, y_stride;
  float eps;
  uint32_t pos_stride;
};
struct L2NormPush {
  uint32_t n, rows_per_token, token_stride, offset;
  float eps, scale;
};
struct RopePush {
  uint32_t heads, head_stride, token_stride, offset, half, pos_stride;
};
struct EltwisePush {
  uint32_t n, a_offset, b_offset, y_offset, pos_stride;
};
struct AttentionPush {
  uint32_t d, hq, hkv, pos0, score_stride;
  float scale;
  uint32_t t0, row0;
};
struct ConvPush {
  uint32_t tokens, channels, taps, row0;
};
struct GatesPush {
  uint32_t n, heads;
};
struct RulePush {
  uint32_t tokens, channels, hk, hv, dk, dv, row0;
};
struct MoePush {
  uint32_t tokens, n, k;
};

constexpr uint32_t kRowsPerX = 32768;    // matmul.comp's kRowsPerX
constexpr uint32_t kTokensPerGroup = 8;  // matmul.comp's kTokens
constexpr uint32_t kEltwiseGroup = 256, kMaxGroupsX = 65535;
constexpr uint64_t kChunk = 64;  // the chunked delta rule's tokens per chunk (deltanet.comp)

const char* matmul_type(GgmlType t) {
  switch (t) {
    case GgmlType::kF32:
      return "f32";
    case GgmlType::kF16:
      return "f16";
    case GgmlType::kBF16:
      return "bf16";
    case GgmlType::kQ8_0:
      return "q8_0";
    case GgmlType::kQ4_0:
      return "q4_0";
    case GgmlType::kQ4_1:
      return "q4_1";
    case GgmlType::kQ5_0:
      return "q5_0";
    case GgmlType::kQ5_1:
      return "q5_1";
    case GgmlType::kQ4_K:
      return "q4_k";
    case GgmlType::kQ5_K:
      return "q5_k";
    case GgmlType::kQ6_K:
      return "q6_k";
    case GgmlType::kQ2_K:
      return "q2_k";
    case GgmlType::kQ3_K:
      return "q3_k";
    case GgmlType::kIQ4_NL:
      return "iq4_nl";
    case GgmlType::kIQ4_XS:
      return "iq4_xs";
    case GgmlType::kMXFP4:
      return "mxfp4";
    case GgmlType::kIQ3_S:
      return "iq3_s";
    case GgmlType::kIQ3_XXS:
      return "iq3_xxs";
    case GgmlType::kIQ2_S:
      return "iq2_s";
    case GgmlType::kIQ2_XS:
      return "iq2_xs";
    case GgmlType::kIQ2_XXS:
      return "iq2_xxs";
    case GgmlType::kIQ1_M:
      return "iq1_m";
    case GgmlType::kIQ1_S:
      return "iq1_s";
    default:
      return nullptr;
  }
}

// A lattice as blocks.glsl reads it: each entry's values as signed bytes, four to a word.
template <size_t kN, size_t kValues>
std::vector<uint32_t> lattice_words(const std::array<std::array<int8_t, kValues>, kN>& grid) {
  std::vector<uint32_t> words;
  words.reserve(kN * kValues / 4);
  for (const auto& entry : grid)
    for (size_t j = 0; j < kValues; j += 4) {
      uint32_t w = 0;
      for (size_t b = 0; b < 4; ++b) w |= uint32_t(uint8_t(entry[j + b])) << (8 * b);
      words.push_back(w);
    }
  return words;
}

// The lattice of an IQ type, packed once; nullptr for the other types.
const std::vector<uint32_t>* lattice_of(GgmlType t) {
  switch (t) {
    case GgmlType::kIQ2_XXS: {
      static const auto words = lattice_words(quant::kIq2xxsGrid);
      return &words;
    }
    case GgmlType::kIQ2_XS: {
      static const auto words = lattice_words(quant::kIq2xsGrid);
      return &words;
    }
    case GgmlType::kIQ2_S: {
      static const auto words = lattice_words(quant::kIq2sGrid);
      return &words;
    }
    case GgmlType::kIQ3_XXS: {
      static const auto words = lattice_words(quant::kIq3xxsGrid);
      return &words;
    }
    case GgmlType::kIQ3_S: {
      static const auto words = lattice_words(quant::kIq3sGrid);
      return &words;
    }
    case GgmlType::kIQ1_S:
    case GgmlType::kIQ1_M: {
      static const auto words = lattice_words(quant::kIq1sGrid);
      return &words;
    }
    default:
      return nullptr;
  }
}

// The shaders address bytes and floats with 32-bit integers.
bool fits_u32(uint64_t v) { return v <= 0xFFFFFFFFull; }

// Whether floats [0, end) lie in the buffer.
bool holds(const Buffer& b, uint64_t end_floats) { return end_floats * 4 <= b.bytes; }

bool refuse(std::string* error, const std::string& what) {
  if (error) *error = "Vulkan " + what + " overruns its buffers";
  return false;
}

}  // namespace

bool matmul_supports(GgmlType type) { return matmul_type(type) != nullptr; }

const Buffer* Ops::lattice_buffer(GgmlType type, std::string* error) {
  auto it = lattices_.find(type);
  if (it != lattices_.end()) return &it->second;
  const std::vector<uint32_t>* words = lattice_of(type);
  if (!words) return nullptr;
  Buffer b;
  if (!create_buffer(d_, words->size() * 4, Memory::kDevice, b, error) ||
      !upload(b, 0, words->data(), words->size() * 4, error))
    return nullptr;
  return &lattices_.emplace(type, std::move(b)).first->second;
}

const Buffer* Ops::pos_buffer(const DevicePos& pos, std::string* error) {
  if (pos.buffer) {
    if (pos.buffer->bytes < 4) {
      refuse(error, "position");
      return nullptr;
    }
    return pos.buffer;
  }
  if (!zero_pos_.buffer) {
    const uint32_t zero = 0;
    if (!create_buffer(d_, 4, Memory::kDevice, zero_pos_, error) || !upload(zero_pos_, 0, &zero, 4, error))
      return nullptr;
  }
  return &zero_pos_;
}

bool Ops::dispatch(Graph& g, const std::string& shader, std::initializer_list<const Buffer*> buffers, const void* push,
                   uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz, std::string* error) {
  auto& slot = pipelines_[shader];
  if (!slot) slot = make_pipeline(d_, shader, uint32_t(buffers.size()), push_bytes, error);
  if (!slot) {
    pipelines_.erase(shader);
    return false;
  }
  const std::vector<const Buffer*> list(buffers);
  return g.dispatch(*slot, list, push, gx, gy, gz, error);
}

bool Ops::matmul(Graph& g, const Buffer& w, const Buffer& x, const Buffer& y, const MatmulArgs& a, std::string* error) {
  const char* type = matmul_type(a.type);
  const auto info = core::ggml_type_info(uint32_t(a.type));
  if (!type || !info) {
    if (error) *error = "the Vulkan backend has no matmul for " + core::ggml_type_name(a.type);
    return false;
  }
  // The F16/BF16 shaders read two values per word.
  const uint32_t values_per_step = (a.type == GgmlType::kF16 || a.type == GgmlType::kBF16) ? 2 : info->block_size;
  if (a.rows == 0 || a.tokens == 0 || a.cols == 0 || a.cols % values_per_step != 0 || a.x_div == 0) {
    if (error)
      *error = "Vulkan matmul: " + std::to_string(a.rows) + " rows of " + std::to_string(a.cols) +
               " values is not a whole number of " + core::ggml_type_name(a.type) + " blocks";
    return false;
  }
  const uint64_t experts = a.ids ? a.n_expert : 1;
  const uint64_t last_byte = a.w_offset + (experts - 1) * a.expert_bytes + uint64_t(a.rows - 1) * a.row_bytes +
                             core::ggml_row_bytes(*info, a.cols);
  const uint64_t x_rows = a.ids ? (a.tokens - 1) / a.x_div + 1 : a.tokens;
  const uint64_t last_x = a.x_offset + (x_rows - 1) * a.x_stride + a.cols;
  const uint64_t last_y = a.y_offset + uint64_t(a.tokens - 1) * a.y_stride + a.rows;
  if (last_byte > w.bytes || !holds(x, last_x) || !holds(y, last_y) || (a.ids && !holds(*a.ids, a.tokens)) ||
      !fits_u32(a.row_bytes) || !fits_u32(a.expert_bytes) || !fits_u32(last_byte))
    return refuse(error, "matmul (or a weight buffer over 4 GiB)");
  const MatmulPush push{a.rows,
                        a.cols,
                        uint32_t(a.row_bytes),
                        uint32_t(a.w_offset),
                        a.x_offset,
                        a.x_stride,
                        a.y_offset,
                        a.y_stride,
                        uint32_t(a.expert_bytes),
                        a.x_div,
                        a.tokens};
  const uint32_t gx = std::min(a.rows, kRowsPerX), gz = (a.rows + kRowsPerX - 1) / kRowsPerX;
  const uint32_t gy = (a.tokens + kTokensPerGroup - 1) / kTokensPerGroup;
  const Buffer* lattice = lattice_buffer(a.type, error);
  if (!lattice && lattice_of(a.type)) return false;
  const std::string name = std::string(a.ids ? "matmul_id_" : "matmul_") + type;
  if (a.ids && lattice) return dispatch(g, name, {&w, &x, &y, a.ids, lattice}, &push, sizeof push, gx, gy, gz, error);
  if (a.ids) return dispatch(g, name, {&w, &x, &y, a.ids}, &push, sizeof push, gx, gy, gz, error);
  if (lattice) return dispatch(g, name, {&w, &x, &y, lattice}, &push, sizeof push, gx, gy, gz, error);
  return dispatch(g, name, {&w, &x, &y}, &push, sizeof push, gx, gy, gz, error);
}

bool Ops::rms_norm(Graph& g, const Buffer& weight, const Buffer& x, const Buffer& y, const RmsNormArgs& a,
                   std::string* error) {
  const uint64_t y_end = a.y_offset + uint64_t(a.pos.max) * a.pos_stride + uint64_t(a.tokens - 1) * a.y_stride + a.n;
  if (a.n == 0 || a.tokens == 0 || !holds(weight, a.n) ||
      !holds(x, a.x_offset + uint64_t(a.tokens - 1) * a.x_stride + a.n) || !holds(y, y_end))
    return refuse(error, "rms_norm");
  const Buffer* pos = pos_buffer(a.pos, error);
  if (!pos) return false;
  const RmsNormPush push{a.n, a.x_offset, a.x_stride, a.y_offset, a.y_stride, a.eps, a.pos_stride};
  return dispatch(g, "rms_norm", {&weight, &x, &y, pos}, &push, sizeof push, a.tokens, 1, 1, error);
}

bool Ops::l2_norm(Graph& g, const Buffer& x, uint32_t n, uint32_t rows, uint32_t rows_per_token, uint32_t token_stride,
                  uint32_t offset, float eps, float scale, std::string* error) {
  if (n == 0 || rows == 0 || rows_per_token == 0 ||
      !holds(x, offset + uint64_t((rows - 1) / rows_per_token) * token_stride + uint64_t(rows_per_token) * n))
    return refuse(error, "l2_norm");
  const L2NormPush push{n, rows_per_token, token_stride, offset, eps, scale};
  return dispatch(g, "l2_norm", {&x}, &push, sizeof push, rows, 1, 1, error);
}

bool Ops::rope(Graph& g, const Buffer& x, const Buffer& table, uint32_t tokens, uint32_t heads, uint32_t head_stride,
               uint32_t token_stride, uint32_t offset, uint32_t half, std::string* error, DevicePos pos,
               uint32_t pos_stride) {
  if (tokens == 0 || heads == 0 || half == 0 || !holds(table, uint64_t(tokens) * half * 2) ||
      !holds(x, offset + uint64_t(pos.max) * pos_stride + uint64_t(tokens - 1) * token_stride +
                    uint64_t(heads - 1) * head_stride + 2 * half))
    return refuse(error, "rope");
  const Buffer* pb = pos_buffer(pos, error);
  if (!pb) return false;
  const RopePush push{heads, head_stride, token_stride, offset, half, pos_stride};
  return dispatch(g, "rope", {&x, &table, pb}, &push, sizeof push, tokens * heads, 1, 1, error);
}

bool Ops::eltwise(Graph& g, Eltwise op, const Buffer& a, uint32_t a_offset, const Buffer& b, uint32_t b_offset,
                  const Buffer& y, uint32_t y_offset, uint32_t n, std::string* error, DevicePos pos,
                  uint32_t pos_stride) {
  if (n == 0 || !holds(a, uint64_t(a_offset) + n) ||
      !holds(y, uint64_t(y_offset) + uint64_t(pos.max) * pos_stride + n) ||
      (op != Eltwise::kCopy && !holds(b, uint64_t(b_offset) + n)))
    return refuse(error, "element-wise op");
  const Buffer* pb = pos_buffer(pos, error);
  if (!pb) return false;
  const char* shader = op == Eltwise::kAdd ? "add" : op == Eltwise::kSwiglu ? "swiglu" : "copy";
  const EltwisePush push{n, a_offset, b_offset, y_offset, pos_stride};
  const uint32_t groups = (n + kEltwiseGroup - 1) / kEltwiseGroup;
  return dispatch(g, shader, {&a, &b, &y, pb}, &push, sizeof push, std::min(groups, kMaxGroupsX),
                  (groups + kMaxGroupsX - 1) / kMaxGroupsX, 1, error);
}

uint64_t kv_row_bytes(core::GgmlType type, uint32_t row) {
  switch (type) {
    case core::GgmlType::kF32:
      return uint64_t(row) * 4;
    case core::GgmlType::kF16:
      return row % 2 == 0 ? uint64_t(row) * 2 : 0;
    case core::GgmlType::kQ8_0:
      return row % 64 == 0 && row <= 4096 ? uint64_t(row) / 32 * 34 : 0;
    default:
      return 0;
  }
}

bool Ops::kv_store(Graph& g, const Buffer& x, uint32_t x_offset, const Buffer& cache, core::GgmlType kv_type,
                   uint32_t row, uint32_t tokens, DevicePos pos, std::string* error) {
  const uint64_t row_bytes = kv_row_bytes(kv_type, row);
  if (kv_type == core::GgmlType::kF32)
    return eltwise(g, Eltwise::kCopy, x, x_offset, x, x_offset, cache, 0, tokens * row, error, pos, row);
  if (row_bytes == 0 || tokens == 0 || !holds(x, uint64_t(x_offset) + uint64_t(tokens) * row) ||
      (uint64_t(pos.max) + tokens) * row_bytes > cache.bytes)
    return refuse(error, "KV store");
  const Buffer* pb = pos_buffer(pos, error);
  if (!pb) return false;
  const uint32_t push[2] = {row, x_offset};
  return dispatch(g, kv_type == core::GgmlType::kF16 ? "kv_store_f16" : "kv_store_q8_0", {&x, &cache, pb}, push,
                  sizeof push, tokens, 1, 1, error);
}

bool Ops::attention(Graph& g, const Buffer& q, const Buffer& qg, const Buffer& k, const Buffer& v, const Buffer& scores,
                    const Buffer& o, const AttentionArgs& a, std::string* error) {
  const uint64_t last_pos = uint64_t(a.pos0) + a.pos.max + a.tokens;
  if (a.tokens == 0 || a.head_dim == 0 || a.n_head_kv == 0 || a.n_head % a.n_head_kv != 0 || a.score_stride < last_pos)
    return refuse(error, "attention");
  const uint64_t rows = (uint64_t(a.row0) + a.first_token + a.tokens) * a.n_head;
  const uint64_t row_bytes = kv_row_bytes(a.kv_type, a.n_head_kv * a.head_dim), kv = last_pos * row_bytes;
  if (row_bytes == 0 || !holds(q, rows * a.head_dim) || !holds(qg, rows * 2 * a.head_dim) || kv > k.bytes ||
      kv > v.bytes || !holds(scores, uint64_t(a.tokens) * a.n_head * a.score_stride) || !holds(o, rows * a.head_dim))
    return refuse(error, "attention");
  const Buffer* pb = pos_buffer(a.pos, error);
  if (!pb) return false;
  const AttentionPush push{a.head_dim, a.n_head, a.n_head_kv, a.pos0, a.score_stride, a.scale, a.first_token, a.row0};
  const char* shader = a.kv_type == core::GgmlType::kF16    ? "attention_f16"
                       : a.kv_type == core::GgmlType::kQ8_0 ? "attention_q8_0"
                                                            : "attention";
  return dispatch(g, shader, {&q, &qg, &k, &v, &scores, &o, pb}, &push, sizeof push, a.n_head, a.tokens, 1, error);
}

bool Ops::deltanet_conv(Graph& g, const Buffer& u, const Buffer& taps, const Buffer& state, const Buffer& y,
                        const DeltaNetArgs& a, std::string* error) {
  const uint64_t n = (uint64_t(a.row0) + a.tokens) * a.channels;
  if (a.taps < 2 || a.tokens == 0 || !holds(u, n) || !holds(y, n) || !holds(taps, uint64_t(a.channels) * a.taps) ||
      !holds(state, uint64_t(a.channels) * (a.taps - 1)))
    return refuse(error, "DeltaNet conv");
  const ConvPush push{a.tokens, a.channels, a.taps, a.row0};
  return dispatch(g, "deltanet_conv", {&u, &taps, &state, &y}, &push, sizeof push, (a.channels + 63) / 64, 1, 1, error);
}

bool Ops::deltanet_gates(Graph& g, const Buffer& beta, const Buffer& alpha, const Buffer& dt_bias, const Buffer& ssm_a,
                         const DeltaNetArgs& a, std::string* error) {
  const uint64_t n = uint64_t(a.tokens) * a.hv;
  if (n == 0 || !holds(beta, n) || !holds(alpha, n) || !holds(dt_bias, a.hv) || !holds(ssm_a, a.hv))
    return refuse(error, "DeltaNet gates");
  const GatesPush push{uint32_t(n), a.hv};
  return dispatch(g, "deltanet_gates", {&beta, &alpha, &dt_bias, &ssm_a}, &push, sizeof push, uint32_t((n + 63) / 64),
                  1, 1, error);
}

bool Ops::deltanet_rule(Graph& g, const Buffer& u, const Buffer& beta, const Buffer& decay, const Buffer& state,
                        const Buffer& o, const DeltaNetArgs& a, std::string* error) {
  const uint64_t rows = uint64_t(a.row0) + a.tokens, gates = rows * a.hv;
  if (a.tokens == 0 || a.hk == 0 || a.hv % a.hk != 0 || a.channels < 2 * a.hk * a.dk + a.hv * a.dv ||
      !holds(u, rows * a.channels) || !holds(beta, gates) || !holds(decay, gates) ||
      !holds(state, uint64_t(a.hv) * a.dv * a.dk) || !holds(o, gates * a.dv))
    return refuse(error, "DeltaNet rule");
  const RulePush push{a.tokens, a.channels, a.hk, a.hv, a.dk, a.dv, a.row0};
  return dispatch(g, "deltanet_rule", {&u, &beta, &decay, &state, &o}, &push, sizeof push, a.hv, 1, 1, error);
}

bool Ops::deltanet_rule_chunked(Graph& g, const Buffer& u, const Buffer& beta, const Buffer& decay, const Buffer& state,
                                const Buffer& o, const Buffer& work, const DeltaNetArgs& a, std::string* error) {
  const uint64_t rows = uint64_t(a.row0) + a.tokens, gates = rows * a.hv;
  if (a.tokens == 0 || a.hk == 0 || a.hv % a.hk != 0 || a.channels < 2 * a.hk * a.dk + a.hv * a.dv ||
      !holds(u, rows * a.channels) || !holds(beta, gates) || !holds(decay, gates) ||
      !holds(state, uint64_t(a.hv) * a.dv * a.dk) || !holds(o, gates * a.dv) ||
      !holds(work, uint64_t(a.hv) * kChunk * (a.dv + a.dk + 1)))
    return refuse(error, "DeltaNet rule (chunked)");
  // One dispatch per chunk: each waits for the one before (Graph's barrier), which holds the state.
  for (uint32_t c0 = 0; c0 < a.tokens; c0 += uint32_t(kChunk)) {
    const uint32_t push[8] = {a.tokens, a.channels, a.hk, a.hv, a.dk, a.dv, a.row0, c0};
    if (!dispatch(g, "deltanet_chunked", {&u, &beta, &decay, &state, &o, &work}, push, sizeof push, a.hv, 1, 1, error))
      return false;
  }
  return true;
}

bool Ops::moe_route(Graph& g, const Buffer& logits, const Buffer& ids, const Buffer& weights, uint32_t tokens,
                    uint32_t experts, uint32_t k, std::string* error) {
  if (tokens == 0 || k == 0 || k > experts || !holds(logits, uint64_t(tokens) * experts) ||
      !holds(ids, uint64_t(tokens) * k) || !holds(weights, uint64_t(tokens) * k))
    return refuse(error, "MoE routing");
  const uint32_t push[3] = {tokens, experts, k};
  return dispatch(g, "moe_route", {&logits, &ids, &weights}, push, sizeof push, (tokens + 63) / 64, 1, 1, error);
}

bool Ops::moe_combine(Graph& g, const Buffer& ys, const Buffer& weights, const Buffer& o, uint32_t tokens, uint32_t n,
                      uint32_t k, std::string* error) {
  const uint64_t total = uint64_t(tokens) * n;
  if (total == 0 || k == 0 || !holds(ys, total * k) || !holds(weights, uint64_t(tokens) * k) || !holds(o, total) ||
      !fits_u32(total))
    return refuse(error, "MoE combination");
  const MoePush push{tokens, n, k};
  return dispatch(g, "moe_combine", {&ys, &weights, &o}, &push, sizeof push, uint32_t((total + 63) / 64), 1, 1, error);
}

bool Ops::moe_shared(Graph& g, const Buffer& sh, const Buffer& gate_logit, const Buffer& o, uint32_t tokens, uint32_t n,
                     std::string* error) {
  const uint64_t total = uint64_t(tokens) * n;
  if (total == 0 || !holds(sh, total) || !holds(gate_logit, tokens) || !holds(o, total) || !fits_u32(total))
    return refuse(error, "MoE shared expert");
  const MoePush push{tokens, n, 1};
  return dispatch(g, "moe_shared", {&sh, &gate_logit, &o}, &push, sizeof push, uint32_t((total + 63) / 64), 1, 1,
                  error);
}

}  // namespace onprem::vulkan
