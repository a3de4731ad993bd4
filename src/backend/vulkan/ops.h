// The model's operations on a Vulkan device, as dispatches recorded into a Graph. Each has a CPU
// counterpart that the tests hold it to (tests/backend/vulkan_test.cpp; the whole forward pass in
// tests/model/vulkan_forward_test.cpp). Offsets and strides are in elements (floats) except for
// weights, which are in bytes. Every call checks its ranges against the buffers and refuses, with
// a message, what would read or write past them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "backend/vulkan/buffer.h"
#include "backend/vulkan/pipeline.h"
#include "core/ggml_type.h"

namespace onprem::vulkan {

// Whether matmul reads this weight type on the device.
bool matmul_supports(core::GgmlType type);

// y[y_offset + t * y_stride + r] = dot(row r of W, x[x_offset + t * x_stride ...]) for r < rows,
// t < tokens. W's rows are `row_bytes` apart from byte `w_offset` (an expert's slice).
// With `ids` (a buffer of `tokens` expert ids), "token" t is an expert slot: its rows start
// ids[t] * expert_bytes further (n_expert experts), and it reads activation row t / x_div.
struct MatmulArgs {
  core::GgmlType type = core::GgmlType::kF32;
  uint32_t rows = 0, cols = 0, tokens = 1;
  uint64_t row_bytes = 0, w_offset = 0;
  uint32_t x_offset = 0, x_stride = 0, y_offset = 0, y_stride = 0;
  const Buffer* ids = nullptr;
  uint64_t expert_bytes = 0;
  uint32_t n_expert = 1, x_div = 1;
};

// A position that the device reads when the graph runs (from a 4-byte buffer), so that a graph
// recorded once can be replayed at the next position; `max` is the largest value the caller will
// store there (the range checks use it). An output that follows it starts pos * pos_stride
// further. No buffer: position 0.
struct DevicePos {
  const Buffer* buffer = nullptr;
  uint32_t max = 0;
};

struct RmsNormArgs {
  uint32_t n = 0, tokens = 1;
  uint32_t x_offset = 0, x_stride = 0, y_offset = 0, y_stride = 0;
  float eps = 1e-6f;
  DevicePos pos;
  uint32_t pos_stride = 0;
};

enum class Eltwise { kAdd, kSwiglu, kCopy };  // y = a + b, silu(a) * b, a

// The KV cache's element types: F32, F16 and Q8_0 (ggml's blocks of 32). A token's row of `row`
// values takes kv_row_bytes; 0 for a type or row the cache cannot hold (Q8_0: a multiple of 64
// values, at most 4,096).
uint64_t kv_row_bytes(core::GgmlType type, uint32_t row);

struct AttentionArgs {
  core::GgmlType kv_type = core::GgmlType::kF32;  // what the caches hold
  uint32_t first_token = 0;  // rows of q, qg and o from here; the scores buffer holds `tokens` rows
  uint32_t tokens = 1, head_dim = 0, n_head = 0, n_head_kv = 0;
  uint32_t row0 = 0;          // the sequence's first row of q, qg and o (a batch shares them)
  uint32_t pos0 = 0;          // token 0's position (plus `pos`): token t sees keys 0 .. pos0 + t
  uint32_t score_stride = 0;  // floats per (token, head) in the scores buffer: at least pos0 + pos.max + tokens
  float scale = 1;
  DevicePos pos;
};

struct DeltaNetArgs {
  uint32_t tokens = 1, channels = 0, taps = 0;  // conv
  uint32_t hk = 0, hv = 0, dk = 0, dv = 0;      // heads and their sizes
  uint32_t row0 = 0;                            // conv and rules: the sequence's rows start here in u, the gates and o
};

// The pipelines of one device, made on first use.
class Ops {
 public:
  explicit Ops(Device& d) : d_(d) {}

  bool matmul(Graph& g, const Buffer& w, const Buffer& x, const Buffer& y, const MatmulArgs& a, std::string* error);
  bool rms_norm(Graph& g, const Buffer& weight, const Buffer& x, const Buffer& y, const RmsNormArgs& a,
                std::string* error);
  // In place: rows of n floats, rows_per_token of them n apart within a token, tokens token_stride
  // apart, from offset; each scaled to unit length (floor eps), times scale.
  bool l2_norm(Graph& g, const Buffer& x, uint32_t n, uint32_t rows, uint32_t rows_per_token, uint32_t token_stride,
               uint32_t offset, float eps, float scale, std::string* error);
  // In place: `heads` rows per token (head_stride apart; tokens token_stride apart, from offset),
  // pairs (j, j + half) turned by table[t][j] = (cos, sin).
  bool rope(Graph& g, const Buffer& x, const Buffer& table, uint32_t tokens, uint32_t heads, uint32_t head_stride,
            uint32_t token_stride, uint32_t offset, uint32_t half, std::string* error, DevicePos pos = {},
            uint32_t pos_stride = 0);
  bool eltwise(Graph& g, Eltwise op, const Buffer& a, uint32_t a_offset, const Buffer& b, uint32_t b_offset,
               const Buffer& y, uint32_t y_offset, uint32_t n, std::string* error, DevicePos pos = {},
               uint32_t pos_stride = 0);
  // Rows x[x_offset + t * row ...] for t < tokens into a cache of kv_type at rows pos.., converted.
  bool kv_store(Graph& g, const Buffer& x, uint32_t x_offset, const Buffer& cache, core::GgmlType kv_type, uint32_t row,
                uint32_t tokens, DevicePos pos, std::string* error);
  // q [T][Hq][D]; qg [T][Hq][2D] (the gate in each head's second half); caches [ctx][Hkv][D];
  // scores [T][Hq][score_stride]; o [T][Hq][D].
  bool attention(Graph& g, const Buffer& q, const Buffer& qg, const Buffer& k, const Buffer& v, const Buffer& scores,
                 const Buffer& o, const AttentionArgs& a, std::string* error);
  // u [T][channels] -> y [T][channels]: causal conv with state [channels][taps - 1], then SiLU.
  bool deltanet_conv(Graph& g, const Buffer& u, const Buffer& taps, const Buffer& state, const Buffer& y,
                     const DeltaNetArgs& a, std::string* error);
  // In place over [T][hv]: beta logits -> beta; alpha -> log-decay.
  bool deltanet_gates(Graph& g, const Buffer& beta, const Buffer& alpha, const Buffer& dt_bias, const Buffer& ssm_a,
                      const DeltaNetArgs& a, std::string* error);
  // u [T][channels] (q | k | v), gates [T][hv] each, state [hv][dv][dk] -> o [T][hv * dv].
  bool deltanet_rule(Graph& g, const Buffer& u, const Buffer& beta, const Buffer& decay, const Buffer& state,
                     const Buffer& o, const DeltaNetArgs& a, std::string* error);
  // The same, in chunks of 64 tokens in matrix form (a prompt); work holds hv x 64 x (dv + dk + 1) floats.
  bool deltanet_rule_chunked(Graph& g, const Buffer& u, const Buffer& beta, const Buffer& decay, const Buffer& state,
                             const Buffer& o, const Buffer& work, const DeltaNetArgs& a, std::string* error);
  // logits [T][experts] -> ids, weights [T][k].
  bool moe_route(Graph& g, const Buffer& logits, const Buffer& ids, const Buffer& weights, uint32_t tokens,
                 uint32_t experts, uint32_t k, std::string* error);
  // o[t] = sum_s weights[t][s] * ys[t * k + s]  (rows of n).
  bool moe_combine(Graph& g, const Buffer& ys, const Buffer& weights, const Buffer& o, uint32_t tokens, uint32_t n,
                   uint32_t k, std::string* error);
  // o[t] += sigmoid(gate_logit[t]) * sh[t]  (rows of n).
  bool moe_shared(Graph& g, const Buffer& sh, const Buffer& gate_logit, const Buffer& o, uint32_t tokens, uint32_t n,
                  std::string* error);

 private:
  // The buffer a DevicePos reads: its own, or a zero the Ops keep.
  const Buffer* pos_buffer(const DevicePos& pos, std::string* error);
  // The lattice an IQ type's matmul reads (uploaded on first use); nullptr for other types, or
  // with *error set when the upload fails.
  const Buffer* lattice_buffer(core::GgmlType type, std::string* error);
  bool dispatch(Graph& g, const std::string& shader, std::initializer_list<const Buffer*> buffers, const void* push,
                uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz, std::string* error);

  Device& d_;
  std::map<std::string, std::unique_ptr<Pipeline>> pipelines_;
  Buffer zero_pos_;
  std::map<core::GgmlType, Buffer> lattices_;
};

}  // namespace onprem::vulkan
