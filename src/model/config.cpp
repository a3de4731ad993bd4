#include "model/config.h"

#include "gguf/file.h"

namespace onprem::model {

using core::ErrorCode;
using core::make_error;

const char* arch_name(Arch a) { return a == Arch::kQwen35 ? "qwen35" : "qwen35moe"; }

uint32_t ModelConfig::n_recurrent_layers() const {
  uint32_t n = 0;
  for (bool r : recurrent) n += r;
  return n;
}

void assign_layer_kinds(ModelConfig* c) {
  c->recurrent.assign(c->n_main(), false);
  for (uint32_t i = 0; i < c->n_main(); ++i)
    c->recurrent[i] = c->full_attention_interval == 0 || (i + 1) % c->full_attention_interval != 0;
}

namespace {

struct Reader {
  const gguf::File& f;
  std::string prefix;
  core::Error* err;

  // Required u32 key; records the first error.
  uint32_t u32(const char* key) {
    auto v = f.get_u32(prefix + key);
    if (!v.ok()) {
      if (err->message.empty()) *err = v.error();
      return 0;
    }
    return *v;
  }
  uint32_t u32_or(const char* key, uint32_t fallback) {
    if (!f.find(prefix + key)) return fallback;
    return u32(key);
  }
  float f32(const char* key) {
    auto v = f.get_f32(prefix + key);
    if (!v.ok()) {
      if (err->message.empty()) *err = v.error();
      return 0;
    }
    return *v;
  }
};

core::Error bad(const std::string& what) {
  return make_error(ErrorCode::kCorrupt, "inconsistent model hyper-parameters: " + what);
}

}  // namespace

core::Status validate(const ModelConfig& c) {
  auto s = [](uint32_t v) { return std::to_string(v); };
  // Upper bounds far above any real model, so that nothing is ever sized by a hostile value
  // (the tensor table and the layer kinds are allocated from these counts).
  struct Limit {
    const char* key;
    uint32_t value, max;
  };
  for (const Limit& l :
       {Limit{"block_count", c.n_layer, 4096}, Limit{"embedding_length", c.n_embd, 1u << 20},
        Limit{"attention.head_count", c.n_head, 4096}, Limit{"attention.head_count_kv", c.n_head_kv, 4096},
        Limit{"expert_count", c.n_expert, 65536}, Limit{"ssm.time_step_rank", c.ssm_dt_rank, 65536},
        Limit{"ssm.group_count", c.ssm_n_group, 65536}, Limit{"feed_forward_length", c.n_ff, 1u << 24},
        Limit{"expert_feed_forward_length", c.n_ff_exp, 1u << 24}}) {
    if (l.value > l.max)
      return bad(std::string(l.key) + " " + s(l.value) + " is above the supported maximum " + s(l.max));
  }
  if (c.n_layer == 0 || c.n_nextn >= c.n_layer)
    return bad("block_count " + s(c.n_layer) + " with " + s(c.n_nextn) + " MTP layers");
  if (c.n_embd == 0 || c.n_vocab == 0) return bad("embedding_length and the vocabulary must be non-zero");
  if (c.n_head == 0 || c.n_head_kv == 0 || c.n_head % c.n_head_kv != 0)
    return bad("attention.head_count " + s(c.n_head) + " is not a multiple of head_count_kv " + s(c.n_head_kv));
  if (c.head_dim == 0 || c.n_rot == 0 || c.n_rot > c.head_dim || c.n_rot % 2 != 0)
    return bad("rope.dimension_count " + s(c.n_rot) + " must be even and at most the head size " + s(c.head_dim));
  if (c.ssm_n_group == 0 || c.ssm_dt_rank == 0 || c.ssm_dt_rank % c.ssm_n_group != 0)
    return bad("ssm.time_step_rank " + s(c.ssm_dt_rank) + " is not a multiple of ssm.group_count " + s(c.ssm_n_group));
  if (c.ssm_d_state == 0 || c.ssm_d_inner != c.ssm_dt_rank * c.ssm_d_state)
    return bad("ssm.inner_size " + s(c.ssm_d_inner) + " != time_step_rank " + s(c.ssm_dt_rank) + " x state_size " +
               s(c.ssm_d_state));
  if (c.head_dim > 512 || c.ssm_d_state > 512)
    return bad("head sizes above 512 are not supported (attention " + s(c.head_dim) + ", DeltaNet " + s(c.ssm_d_state) +
               ")");
  if (c.ssm_conv_kernel < 2 || c.ssm_conv_kernel > 16)
    return bad("ssm.conv_kernel " + s(c.ssm_conv_kernel) + " outside 2..16");
  if (c.recurrent.size() != c.n_main()) return bad("layer kinds do not cover every layer");
  if (c.is_moe()) {
    if (c.n_expert == 0 || c.n_expert_used == 0 || c.n_expert_used > c.n_expert)
      return bad("expert_used_count " + s(c.n_expert_used) + " must be in 1..expert_count " + s(c.n_expert));
    if (c.n_ff_exp == 0) return bad("expert_feed_forward_length must be non-zero");
  } else if (c.n_ff == 0) {
    return bad("feed_forward_length must be non-zero");
  }
  return core::Ok{};
}

core::Expected<ModelConfig> load_config(const gguf::File& file) {
  ONPREM_TRY_ASSIGN(arch, file.get_string("general.architecture"));
  ModelConfig c;
  if (arch == "qwen35")
    c.arch = Arch::kQwen35;
  else if (arch == "qwen35moe")
    c.arch = Arch::kQwen35Moe;
  else
    return make_error(ErrorCode::kUnsupported,
                      "architecture '" + std::string(arch) +
                          "' is not supported (qwen35 and qwen35moe are; qwen3next files differ, see docs)");
  core::Error err;
  Reader r{file, std::string(arch) + ".", &err};
  c.n_layer = r.u32("block_count");
  c.n_nextn = r.u32_or("nextn_predict_layers", 0);
  c.n_ctx_train = r.u32("context_length");
  c.n_embd = r.u32("embedding_length");
  c.n_head = r.u32("attention.head_count");
  c.n_head_kv = r.u32("attention.head_count_kv");
  c.head_dim = r.u32("attention.key_length");
  const uint32_t v_len = r.u32_or("attention.value_length", c.head_dim);
  c.rms_eps = r.f32("attention.layer_norm_rms_epsilon");
  c.rope_theta = r.f32("rope.freq_base");
  c.n_rot = r.u32("rope.dimension_count");
  c.ssm_conv_kernel = r.u32("ssm.conv_kernel");
  c.ssm_d_state = r.u32("ssm.state_size");
  c.ssm_n_group = r.u32("ssm.group_count");
  c.ssm_dt_rank = r.u32("ssm.time_step_rank");
  c.ssm_d_inner = r.u32("ssm.inner_size");
  c.full_attention_interval = r.u32_or("full_attention_interval", 4);
  if (c.is_moe()) {
    c.n_expert = r.u32("expert_count");
    c.n_expert_used = r.u32("expert_used_count");
    c.n_ff_exp = r.u32("expert_feed_forward_length");
    c.n_ff_shexp = r.u32_or("expert_shared_feed_forward_length", 0);
  } else {
    c.n_ff = r.u32("feed_forward_length");
  }
  if (!err.message.empty()) return err;
  if (c.n_layer > 4096 || c.n_nextn >= c.n_layer)
    return bad("block_count " + std::to_string(c.n_layer) + " with " + std::to_string(c.n_nextn) + " MTP layers");
  if (v_len != c.head_dim)
    return bad("attention.value_length " + std::to_string(v_len) + " != key_length " + std::to_string(c.head_dim));
  if (const gguf::Value* sec = file.find(r.prefix + "rope.dimension_sections")) {
    if (!sec->is_array_of(gguf::ValueType::kI32) || sec->count > 4)
      return make_error(ErrorCode::kTypeMismatch,
                        r.prefix + "rope.dimension_sections must be an array of at most 4 i32");
    for (uint64_t k = 0; k < sec->count; ++k) c.rope_sections[size_t(k)] = sec->elem<int32_t>(k);
  }
  // The vocabulary size is the token list's length; a file without a tokenizer uses the embedding.
  if (auto tokens = file.get_string_array("tokenizer.ggml.tokens"); tokens.ok()) {
    c.n_vocab = uint32_t((*tokens)->size());
  } else if (const gguf::TensorInfo* emb = file.tensor("token_embd.weight")) {
    c.n_vocab = uint32_t(emb->ne[1]);
  }
  assign_layer_kinds(&c);
  // Newer converters may list the recurrent layers explicitly; it wins over the interval rule.
  if (const gguf::Value* rl = file.find(r.prefix + "attention.recurrent_layers")) {
    const bool ok_type = rl->is_array_of(gguf::ValueType::kBool) || rl->is_array_of(gguf::ValueType::kU8) ||
                         rl->is_array_of(gguf::ValueType::kI32) || rl->is_array_of(gguf::ValueType::kU32);
    if (!ok_type || rl->count != c.n_layer)
      return make_error(ErrorCode::kTypeMismatch,
                        r.prefix + "attention.recurrent_layers must be a bool or integer array of block_count (" +
                            std::to_string(c.n_layer) + ") entries");
    const size_t w = gguf::value_type_size(rl->elem_type);
    for (uint32_t i = 0; i < c.n_main(); ++i) {
      uint64_t v = 0;
      for (size_t b = 0; b < w; ++b) v |= uint64_t(rl->elems[i * w + b]) << (8 * b);
      c.recurrent[i] = v != 0;
    }
  }
  ONPREM_TRY(validate(c));
  return c;
}

}  // namespace onprem::model
