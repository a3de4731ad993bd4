#include "planner/sizing.h"

#include <map>

#include "gguf/file.h"
#include "model/generate.h"
#include "model/tensor_table.h"

namespace onprem::planner {

using core::ErrorCode;
using core::make_error;

core::Expected<ModelSizing> builtin_model(const std::string& name, model::FileType quant) {
  const char* preset = name == "qwen3.6-27b" ? "27b" : name == "qwen3.6-35b-a3b" ? "35b-a3b" : nullptr;
  if (!preset)
    return make_error(ErrorCode::kNotFound,
                      "unknown model '" + name + "' (built in: qwen3.6-27b, qwen3.6-35b-a3b; or a GGUF path)");
  ModelSizing m;
  m.name = name;
  m.quant = model::file_type_name(quant);
  ONPREM_TRY_ASSIGN(cfg, model::preset_config(preset));
  m.config = cfg;
  const auto table = model::tensor_table(cfg);
  const auto types = model::tensor_types(table, cfg, quant);
  for (size_t i = 0; i < table.size(); ++i) {
    const uint64_t b = model::tensor_bytes(table[i], types[i]);
    m.weights_bytes += b;
    if (table[i].role == model::TensorRole::kEmbedding) m.embd_bytes += b;
    if (table[i].role == model::TensorRole::kOutput) m.head_bytes += b;
    if (table[i].routed_expert) m.expert_bytes += b;
  }
  return m;
}

core::Expected<ModelSizing> gguf_model(const std::string& path) {
  ONPREM_TRY_ASSIGN(f, gguf::File::open(path));
  ONPREM_TRY_ASSIGN(cfg, model::load_config(f));
  ModelSizing m;
  m.name = path;
  m.config = cfg;
  std::map<std::string, uint64_t> by_type;
  const auto experts = model::routed_expert_names(cfg);
  for (const auto& t : f.tensors()) {
    m.weights_bytes += t.n_bytes;
    const std::string name(t.name);
    if (name == "token_embd.weight") m.embd_bytes += t.n_bytes;
    if (name == "output.weight") m.head_bytes += t.n_bytes;
    if (experts.count(name)) m.expert_bytes += t.n_bytes;
    by_type[core::ggml_type_name(t.type)] += t.n_bytes;
  }
  // The type mix, largest share first: "Q4_K 80% + Q6_K 15% + F32 5%".
  std::multimap<uint64_t, std::string, std::greater<>> order;
  for (const auto& [type, bytes] : by_type) order.emplace(bytes, type);
  for (const auto& [bytes, type] : order) {
    if (!m.quant.empty()) m.quant += " + ";
    m.quant += type + " " + std::to_string(int(100.0 * double(bytes) / double(m.weights_bytes) + 0.5)) + "%";
  }
  return m;
}

core::Expected<ModelSizing> resolve_model(const std::string& name_or_path, model::FileType quant) {
  if (name_or_path.find(".gguf") != std::string::npos || name_or_path.find('/') != std::string::npos)
    return gguf_model(name_or_path);
  return builtin_model(name_or_path, quant);
}

uint64_t weight_bytes_per_token(const ModelSizing& m) {
  const model::ModelConfig& c = m.config;
  // token_embd: one row per token (the LM head is a separate tensor and is read whole).
  const uint64_t embd_row = c.n_vocab ? m.embd_bytes / c.n_vocab : 0;
  uint64_t b = m.weights_bytes - m.embd_bytes + embd_row;
  if (c.is_moe() && c.n_expert) b = b - m.expert_bytes + m.expert_bytes * c.n_expert_used / c.n_expert;
  return b;
}

}  // namespace onprem::planner
