#include "planner/memory_plan.h"

#include <cctype>
#include <cstdio>

#include "model/forward.h"
#include "model/memory.h"

namespace onprem::planner {

using core::ErrorCode;
using core::make_error;

core::Expected<KvType> kv_type_from_name(const std::string& name) {
  std::string up;
  for (char ch : name) up += char(std::toupper(static_cast<unsigned char>(ch)));
  if (up == "F16") return KvType::kF16;
  if (up == "Q8_0") return KvType::kQ8_0;
  if (up == "F32") return KvType::kF32;
  return make_error(ErrorCode::kInvalidArgument, "unknown KV cache type '" + name + "' (F16, Q8_0, F32)");
}

const char* kv_type_name(KvType t) { return t == KvType::kF16 ? "F16" : t == KvType::kQ8_0 ? "Q8_0" : "F32"; }

std::string format_bytes(uint64_t b) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f GB (%.2f GiB)", double(b) / 1e9, double(b) / double(1ull << 30));
  return buf;
}

namespace {

std::string num(uint64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

}  // namespace

MemoryPlan plan_memory(const ModelSizing& m, const MemoryOptions& o) {
  const model::ModelConfig& c = m.config;
  MemoryPlan p;
  const uint64_t num_b = o.kv_type == KvType::kF16 ? 2 : o.kv_type == KvType::kF32 ? 4 : 34;
  const uint64_t den_b = o.kv_type == KvType::kQ8_0 ? 32 : 1;
  const model::StateSizes s = model::state_sizes(c, num_b, den_b);
  p.weights_bytes = m.weights_bytes;
  p.kv_bytes_per_token = s.kv_bytes_per_token;
  p.kv_cache_bytes = s.kv_bytes_per_token * o.ctx * o.parallel;
  p.state_bytes = s.fixed_state_bytes() * o.parallel;
  // Our engine's workspace for one prefill chunk, plus one logits row per sequence.
  const uint64_t ws = model::workspace_sizes(c, int64_t(o.ubatch), o.threads).total_bytes();
  const uint64_t logits = uint64_t(c.n_vocab) * 4 * o.parallel;
  p.compute_bytes = ws + logits;
  p.overhead_bytes = o.overhead_bytes;
  p.decode_bytes_per_token = weight_bytes_per_token(m) + s.kv_bytes_per_token * o.ctx + 2 * s.fixed_state_bytes();

  const uint64_t n_attn = c.n_attention_layers(), n_lin = c.n_recurrent_layers();
  const std::string kvname = kv_type_name(o.kv_type);
  auto& a = p.arithmetic;
  a.push_back("weights      = " + num(p.weights_bytes) + " B  (" + m.quant + ")");
  a.push_back("KV cache     = " + num(n_attn) + " attention layers x 2 (K,V) x " + num(c.n_head_kv) + " kv heads x " +
              num(c.head_dim) + " x " + (den_b == 1 ? num(num_b) : "34/32") + " B (" + kvname +
              ") = " + num(s.kv_bytes_per_token) + " B/token;  x " + num(o.ctx) + " tokens x " + num(o.parallel) +
              " sequences = " + num(p.kv_cache_bytes) + " B");
  a.push_back("state        = " + num(n_lin) + " DeltaNet layers x (conv " + num(c.ssm_conv_kernel - 1) + " x " +
              num(c.ssm_conv_channels()) + " + recurrent " + num(c.ssm_dt_rank) + " x " + num(c.ssm_d_state) + " x " +
              num(c.ssm_d_state) + ") x 4 B = " + num(s.fixed_state_bytes()) + " B/sequence;  x " + num(o.parallel) +
              " = " + num(p.state_bytes) + " B");
  a.push_back("compute      = workspace for a " + num(o.ubatch) + "-token prefill chunk " + num(ws) + " B + logits " +
              num(c.n_vocab) + " x 4 B x " + num(o.parallel) + " = " + num(p.compute_bytes) + " B");
  a.push_back("overhead     = " + num(p.overhead_bytes) + " B (runtime, allocator slack)");
  a.push_back("total        = " + num(p.total_bytes()) + " B = " + format_bytes(p.total_bytes()));
  a.push_back("decode reads = weights " + num(weight_bytes_per_token(m)) + " B (" +
              (c.is_moe() ? num(c.n_expert_used) + " of " + num(c.n_expert) + " experts, " : std::string()) +
              "one embedding row) + KV " + num(s.kv_bytes_per_token * o.ctx) +
              " B at a full context + state read and written " + num(2 * s.fixed_state_bytes()) +
              " B = " + num(p.decode_bytes_per_token) + " B/token");
  return p;
}

}  // namespace onprem::planner
