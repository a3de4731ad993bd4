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
  m.layers.resize(cfg.n_main());
  for (uint32_t i = 0; i < cfg.n_main(); ++i) m.layers[i].recurrent = cfg.recurrent[i];
  // Every tensor from the table, by the member it names (check_tensors has vetted each one).
  for (const TensorSpec& s : tensor_table(cfg)) {
    const gguf::TensorInfo* t = f.tensor(s.name);
    if (s.model_matrix) m.*s.model_matrix = bind_matrix(t);
    if (s.model_floats) m.*s.model_floats = decode(t);
    if (s.layer_matrix) m.layers[size_t(s.layer)].*s.layer_matrix = bind_matrix(t);
    if (s.layer_floats) m.layers[size_t(s.layer)].*s.layer_floats = decode(t);
  }
  if (!m.output.view.data) m.output = m.token_embd;  // no LM head in the file: llama.cpp ties it
  for (uint32_t i = 0; i < cfg.n_main(); ++i) {
    LayerWeights& L = m.layers[i];
    if (!cfg.is_moe() || L.gate_exps.view.data) continue;
    // Fused {N, 2F, E}: per expert, F gate rows then F up rows; views with a 2F-row stride.
    const Matrix fused = bind_matrix(f.tensor(fused_gate_up_name(int(i))));
    L.gate_exps = L.up_exps = fused;
    L.gate_exps.view.n_rows = L.up_exps.view.n_rows = fused.view.n_rows / 2;
    L.up_exps.view.data += L.up_exps.view.n_rows * fused.view.row_bytes();
  }
  return m;
}

namespace {

template <typename F>
void for_each_read_tensor(const Model& m, F f) {
  const ModelConfig& c = m.config;
  const auto experts = routed_expert_names(c);
  for (const auto& t : m.file->tensors()) {
    const std::string name(t.name);
    if (name == "token_embd.weight") {
      f(t.n_bytes / t.ne[1], t.ne[0]);  // one row
      continue;
    }
    // MTP blocks are not run.
    const auto block = block_index(name);
    if (block && *block >= c.n_main()) continue;
    if (experts.count(name)) {
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
