#include "model/weights.h"

#include "model/tensor_table.h"
#include "quant/dequant.h"

namespace onprem::model {

using core::ErrorCode;
using core::make_error;

namespace {

Matrix bind_matrix(const gguf::TensorInfo* t) {
  Matrix m;
  if (!t) return m;
  m.view.data = t->data;
  m.view.type = t->type;
  m.view.n_cols = int64_t(t->ne[0]);
  m.view.n_rows = int64_t(t->ne[1]);
  m.n_expert = int64_t(t->ne[2]);
  m.expert_bytes = int64_t(t->n_bytes) / m.n_expert;
  return m;
}

std::vector<float> decode(const gguf::TensorInfo* t) {
  if (!t) return {};
  std::vector<float> out(static_cast<size_t>(t->n_elements()));
  quant::dequantizer(t->type)(t->data, out.data(), int64_t(out.size()));
  return out;
}

}  // namespace

core::Expected<Model> bind_model(std::shared_ptr<const gguf::File> file) {
  ONPREM_TRY_ASSIGN(cfg, load_config(*file));
  ONPREM_TRY(check_tensors(*file, cfg));
  Model m;
  m.config = cfg;
  m.file = file;
  const gguf::File& f = *file;
  m.token_embd = bind_matrix(f.tensor("token_embd.weight"));
  m.output_norm = decode(f.tensor("output_norm.weight"));
  m.output = f.tensor("output.weight") ? bind_matrix(f.tensor("output.weight")) : m.token_embd;
  m.layers.resize(cfg.n_main());
  for (uint32_t i = 0; i < cfg.n_main(); ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    auto T = [&](const char* name) { return f.tensor(p + name); };
    LayerWeights& L = m.layers[i];
    L.recurrent = cfg.recurrent[i];
    L.attn_norm = decode(T("attn_norm.weight"));
    L.post_norm = decode(T("post_attention_norm.weight"));
    if (L.recurrent) {
      L.qkv = bind_matrix(T("attn_qkv.weight"));
      L.gate = bind_matrix(T("attn_gate.weight"));
      L.beta = bind_matrix(T("ssm_beta.weight"));
      L.alpha = bind_matrix(T("ssm_alpha.weight"));
      L.ssm_out = bind_matrix(T("ssm_out.weight"));
      L.conv = decode(T("ssm_conv1d.weight"));
      L.dt_bias = decode(T("ssm_dt.bias"));
      L.ssm_a = decode(T("ssm_a"));
      L.ssm_norm = decode(T("ssm_norm.weight"));
    } else {
      L.wq = bind_matrix(T("attn_q.weight"));
      L.wk = bind_matrix(T("attn_k.weight"));
      L.wv = bind_matrix(T("attn_v.weight"));
      L.wo = bind_matrix(T("attn_output.weight"));
      L.q_norm = decode(T("attn_q_norm.weight"));
      L.k_norm = decode(T("attn_k_norm.weight"));
    }
    if (cfg.is_moe()) {
      L.router = decode(T("ffn_gate_inp.weight"));
      if (T("ffn_gate_exps.weight")) {
        L.gate_exps = bind_matrix(T("ffn_gate_exps.weight"));
        L.up_exps = bind_matrix(T("ffn_up_exps.weight"));
      } else {
        // Fused {N, 2F, E}: per expert, F gate rows then F up rows; views with a 2F-row stride.
        const Matrix fused = bind_matrix(f.tensor(fused_gate_up_name(int(i))));
        L.gate_exps = L.up_exps = fused;
        L.gate_exps.view.n_rows = L.up_exps.view.n_rows = fused.view.n_rows / 2;
        L.up_exps.view.data += L.up_exps.view.n_rows * fused.view.row_bytes();
      }
      L.down_exps = bind_matrix(T("ffn_down_exps.weight"));
      if (cfg.n_ff_shexp) {
        L.shexp_gate = decode(T("ffn_gate_inp_shexp.weight"));
        L.gate_shexp = bind_matrix(T("ffn_gate_shexp.weight"));
        L.up_shexp = bind_matrix(T("ffn_up_shexp.weight"));
        L.down_shexp = bind_matrix(T("ffn_down_shexp.weight"));
      }
    } else {
      L.ffn_gate = bind_matrix(T("ffn_gate.weight"));
      L.ffn_up = bind_matrix(T("ffn_up.weight"));
      L.ffn_down = bind_matrix(T("ffn_down.weight"));
    }
  }
  return m;
}

namespace {

template <typename F>
void for_each_read_tensor(const Model& m, F f) {
  const ModelConfig& c = m.config;
  for (const auto& t : m.file->tensors()) {
    const std::string name(t.name);
    if (name == "token_embd.weight") {
      f(t.n_bytes / t.ne[1], t.ne[0]);  // one row
      continue;
    }
    // MTP blocks are not run.
    const auto block = block_index(name);
    if (block && *block >= c.n_main()) continue;
    if (name.find("_exps.") != std::string::npos && c.n_expert) {
      f(t.n_bytes / c.n_expert * c.n_expert_used, t.n_elements() / c.n_expert * c.n_expert_used);
      continue;
    }
    f(t.n_bytes, t.n_dims >= 2 ? t.n_elements() : 0);  // vectors: bytes, no matrix work
  }
}

}  // namespace

uint64_t weight_bytes_per_token(const Model& m) {
  uint64_t b = 0;
  for_each_read_tensor(m, [&](uint64_t bytes, uint64_t) { b += bytes; });
  return b;
}

uint64_t weight_macs_per_token(const Model& m) {
  uint64_t macs = 0;
  for_each_read_tensor(m, [&](uint64_t, uint64_t elements) { macs += elements; });
  return macs;
}

core::Expected<Model> load_model(const std::string& path) {
  auto f = gguf::File::open(path);
  if (!f) return f.error();
  auto shared = std::make_shared<const gguf::File>(std::move(f.value()));
  auto m = bind_model(shared);
  if (!m) {
    core::Error e = m.error();
    if (e.where.empty()) e.where = path;
    return e;
  }
  return m;
}

}  // namespace onprem::model
