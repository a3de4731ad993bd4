#include "model/tensor_table.h"

#include <charconv>
#include <algorithm>

#include "gguf/file.h"
#include "quant/dequant.h"
#include "model/weights.h"

namespace onprem::model {

using core::ErrorCode;
using core::make_error;

bool TensorSpec::stays_f32() const {
  switch (role) {
    case TensorRole::kNorm:
    case TensorRole::kRouter:
    case TensorRole::kSharedGate:
    case TensorRole::kConv:
    case TensorRole::kSsmA:
    case TensorRole::kSsmDtBias:
    case TensorRole::kSsmNorm:
      return true;
    default:
      return ne.size() == 1;
  }
}

uint64_t TensorSpec::n_elements() const {
  uint64_t n = 1;
  for (auto d : ne) n *= d;
  return n;
}

std::string TensorSpec::shape_string() const {
  std::string s = "{";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "}";
}

std::vector<TensorSpec> tensor_table(const ModelConfig& c) {
  const uint64_t N = c.n_embd, V = c.n_vocab;
  using LW = LayerWeights;
  std::vector<TensorSpec> t;
  auto add = [&](std::string name, std::vector<uint64_t> ne, TensorRole role, int layer) -> TensorSpec& {
    t.push_back(TensorSpec{std::move(name), std::move(ne), role, layer, false});
    return t.back();
  };
  auto matrix = [&](std::string name, std::vector<uint64_t> ne, int layer, Matrix LW::*m,
                    TensorRole role = TensorRole::kLinear) {
    add(std::move(name), std::move(ne), role, layer).layer_matrix = m;
  };
  auto floats = [&](std::string name, std::vector<uint64_t> ne, TensorRole role, int layer, std::vector<float> LW::*f) {
    add(std::move(name), std::move(ne), role, layer).layer_floats = f;
  };
  add("token_embd.weight", {N, V}, TensorRole::kEmbedding, -1).model_matrix = &Model::token_embd;
  add("output_norm.weight", {N}, TensorRole::kNorm, -1).model_floats = &Model::output_norm;
  TensorSpec& out = add("output.weight", {N, V}, TensorRole::kOutput, -1);
  out.model_matrix = &Model::output;
  out.optional = true;

  const uint64_t Kd = uint64_t(c.ssm_n_group) * c.ssm_d_state, Vd = c.ssm_d_inner;
  const uint64_t C = 2 * Kd + Vd, Hv = c.ssm_dt_rank, D = c.head_dim;
  for (uint32_t i = 0; i < c.n_main(); ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    const int L = int(i);
    floats(p + "attn_norm.weight", {N}, TensorRole::kNorm, L, &LW::attn_norm);
    floats(p + "post_attention_norm.weight", {N}, TensorRole::kNorm, L, &LW::post_norm);
    if (c.recurrent[i]) {
      matrix(p + "attn_qkv.weight", {N, C}, L, &LW::qkv);
      matrix(p + "attn_gate.weight", {N, Vd}, L, &LW::gate);
      matrix(p + "ssm_beta.weight", {N, Hv}, L, &LW::beta);
      matrix(p + "ssm_alpha.weight", {N, Hv}, L, &LW::alpha);
      floats(p + "ssm_conv1d.weight", {c.ssm_conv_kernel, C}, TensorRole::kConv, L, &LW::conv);
      floats(p + "ssm_dt.bias", {Hv}, TensorRole::kSsmDtBias, L, &LW::dt_bias);
      floats(p + "ssm_a", {Hv}, TensorRole::kSsmA, L, &LW::ssm_a);
      floats(p + "ssm_norm.weight", {c.ssm_d_state}, TensorRole::kSsmNorm, L, &LW::ssm_norm);
      matrix(p + "ssm_out.weight", {Vd, N}, L, &LW::ssm_out);
    } else {
      matrix(p + "attn_q.weight", {N, 2 * c.n_head * D}, L, &LW::wq);
      matrix(p + "attn_k.weight", {N, c.n_head_kv * D}, L, &LW::wk);
      matrix(p + "attn_v.weight", {N, c.n_head_kv * D}, L, &LW::wv);
      matrix(p + "attn_output.weight", {c.n_head * D, N}, L, &LW::wo);
      floats(p + "attn_q_norm.weight", {D}, TensorRole::kNorm, L, &LW::q_norm);
      floats(p + "attn_k_norm.weight", {D}, TensorRole::kNorm, L, &LW::k_norm);
    }
    if (c.is_moe()) {
      const uint64_t E = c.n_expert, F = c.n_ff_exp;
      floats(p + "ffn_gate_inp.weight", {N, E}, TensorRole::kRouter, L, &LW::router);
      matrix(p + "ffn_gate_exps.weight", {N, F, E}, L, &LW::gate_exps);
      matrix(p + "ffn_up_exps.weight", {N, F, E}, L, &LW::up_exps);
      matrix(p + "ffn_down_exps.weight", {F, N, E}, L, &LW::down_exps);
      for (size_t k = t.size() - 3; k < t.size(); ++k) t[k].routed_expert = true;
      if (c.n_ff_shexp > 0) {
        const uint64_t Fs = c.n_ff_shexp;
        floats(p + "ffn_gate_inp_shexp.weight", {N}, TensorRole::kSharedGate, L, &LW::shexp_gate);
        matrix(p + "ffn_gate_shexp.weight", {N, Fs}, L, &LW::gate_shexp);
        matrix(p + "ffn_up_shexp.weight", {N, Fs}, L, &LW::up_shexp);
        matrix(p + "ffn_down_shexp.weight", {Fs, N}, L, &LW::down_shexp);
      }
    } else {
      matrix(p + "ffn_gate.weight", {N, c.n_ff}, L, &LW::ffn_gate);
      matrix(p + "ffn_up.weight", {N, c.n_ff}, L, &LW::ffn_up);
      matrix(p + "ffn_down.weight", {c.n_ff, N}, L, &LW::ffn_down);
    }
  }
  return t;
}

bool is_split_gate_up(const std::string& name) {
  auto ends = [&](const char* suffix) {
    const std::string x(suffix);
    return name.size() >= x.size() && name.compare(name.size() - x.size(), x.size(), x) == 0;
  };
  return ends("ffn_gate_exps.weight") || ends("ffn_up_exps.weight");
}

std::unordered_set<std::string> routed_expert_names(const ModelConfig& c) {
  std::unordered_set<std::string> names;
  for (const auto& spec : tensor_table(c)) {
    if (!spec.routed_expert || spec.layer != 0) continue;
    // The table holds the main layers; MTP blocks (not run, but in the file) carry the same experts.
    const std::string suffix = spec.name.substr(std::string_view("blk.0").size());
    for (uint32_t layer = 0; layer < c.n_layer; ++layer) {
      names.insert("blk." + std::to_string(layer) + suffix);
      if (is_split_gate_up(spec.name)) names.insert(fused_gate_up_name(int(layer)));
    }
  }
  return names;
}

std::optional<uint32_t> block_index(std::string_view name) {
  constexpr std::string_view kPrefix = "blk.";
  if (name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  const char* first = name.data() + kPrefix.size();
  const char* last = name.data() + name.size();
  uint32_t n = 0;
  const auto [end, ec] = std::from_chars(first, last, n);
  if (ec != std::errc() || end == first || end == last || *end != '.') return std::nullopt;
  return n;
}

std::string fused_gate_up_name(int layer) { return "blk." + std::to_string(layer) + ".ffn_gate_up_exps.weight"; }

core::Status check_tensors(const gguf::File& file, const ModelConfig& c) {
  for (const auto& spec : tensor_table(c)) {
    const gguf::TensorInfo* t = file.tensor(spec.name);
    if (!t && is_split_gate_up(spec.name)) {
      // Newer files fuse the expert gate and up projections: {N, 2F, E}, gate rows first.
      const std::string fused = fused_gate_up_name(spec.layer);
      if (const gguf::TensorInfo* f = file.tensor(fused)) {
        if (f->n_dims != 3 || f->ne[0] != spec.ne[0] || f->ne[1] != 2 * spec.ne[1] || f->ne[2] != spec.ne[2])
          return make_error(ErrorCode::kTypeMismatch, "tensor '" + fused + "' has shape " + f->shape_string() +
                                                          ", expected {" + std::to_string(spec.ne[0]) + ", " +
                                                          std::to_string(2 * spec.ne[1]) + ", " +
                                                          std::to_string(spec.ne[2]) + "}");
        t = f;
        if (!quant::can_dequantize(t->type))
          return make_error(ErrorCode::kUnsupported,
                            "tensor '" + fused + "' has type " + core::ggml_type_name(t->type) +
                                ", which this engine cannot decode (it decodes " + quant::decodable_type_names() + ")");
        continue;
      }
    }
    if (!t) {
      if (spec.optional) continue;
      return make_error(ErrorCode::kNotFound,
                        "tensor '" + spec.name + "' is missing (expected shape " + spec.shape_string() + ")");
    }
    // Trailing dimensions of 1 do not change a tensor (llama.cpp ignores them): convert_hf_to_gguf
    // writes the shared-expert gate as {n_embd, 1} where the table has {n_embd}.
    bool same = true;
    for (size_t d = 0; same && d < std::max<size_t>(t->n_dims, spec.ne.size()); ++d) {
      const int64_t have = d < t->n_dims ? int64_t(t->ne[d]) : 1, want = d < spec.ne.size() ? int64_t(spec.ne[d]) : 1;
      same = have == want;
    }
    if (!same)
      return make_error(ErrorCode::kTypeMismatch, "tensor '" + spec.name + "' has shape " + t->shape_string() +
                                                      ", expected " + spec.shape_string());
    if (!quant::can_dequantize(t->type)) {
      return make_error(ErrorCode::kUnsupported,
                        "tensor '" + spec.name + "' has type " + core::ggml_type_name(t->type) +
                            ", which this engine cannot decode (it decodes " + quant::decodable_type_names() + ")");
    }
  }
  return core::Ok{};
}

}  // namespace onprem::model
