#include "model/generate.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "gguf/writer.h"
#include "quant/quantize.h"

namespace onprem::model {

using core::ErrorCode;
using core::GgmlType;
using core::make_error;

namespace {

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

struct Rng {
  uint64_t s;
  double uniform() { return double(splitmix(s) >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

void fill_row(const TensorSpec& spec, const ModelConfig& c, Rng& rng, float* x, uint64_t n) {
  const double fan_in = double(spec.ne[0]);
  switch (spec.role) {
    case TensorRole::kEmbedding:
      for (uint64_t i = 0; i < n; ++i) x[i] = float(rng.normal());
      break;
    case TensorRole::kOutput: {
      const double sd = 6.0 / std::sqrt(double(c.n_embd));
      for (uint64_t i = 0; i < n; ++i) x[i] = float(sd * rng.normal());
      break;
    }
    case TensorRole::kNorm:
    case TensorRole::kSsmNorm:
      for (uint64_t i = 0; i < n; ++i) x[i] = float(1.0 + 0.1 * rng.normal());
      break;
    case TensorRole::kRouter: {
      const double sd = 4.0 / std::sqrt(double(c.n_embd));
      for (uint64_t i = 0; i < n; ++i) x[i] = float(sd * rng.normal());
      break;
    }
    case TensorRole::kSsmA:
      for (uint64_t i = 0; i < n; ++i) x[i] = float(-std::exp(-1.0 + 2.5 * rng.uniform()));
      break;
    case TensorRole::kSsmDtBias:
      for (uint64_t i = 0; i < n; ++i) x[i] = float(-4.0 + 3.0 * rng.uniform());
      break;
    case TensorRole::kLinear:
    case TensorRole::kSharedGate:
    case TensorRole::kConv: {
      const double sd = 0.5 / std::sqrt(fan_in);
      for (uint64_t i = 0; i < n; ++i) x[i] = float(sd * rng.normal());
      break;
    }
  }
}

}  // namespace

core::Expected<ModelConfig> preset_config(const std::string& name) {
  ModelConfig c;
  c.rms_eps = 1e-6f;
  c.rope_theta = 1e7f;
  c.ssm_conv_kernel = 4;
  c.full_attention_interval = 4;
  if (name == "tiny" || name == "tiny-moe") {
    c.arch = name == "tiny" ? Arch::kQwen35 : Arch::kQwen35Moe;
    c.n_layer = 4, c.n_ctx_train = 4096, c.n_embd = 256, c.n_vocab = 512;
    c.n_head = 4, c.n_head_kv = 2, c.head_dim = 64, c.n_rot = 16, c.rope_sections = {3, 3, 2, 0};
    c.ssm_d_state = 32, c.ssm_n_group = 2, c.ssm_dt_rank = 8, c.ssm_d_inner = 256;
    if (c.arch == Arch::kQwen35)
      c.n_ff = 256;
    else
      c.n_expert = 4, c.n_expert_used = 2, c.n_ff_exp = 256, c.n_ff_shexp = 256;
  } else if (name == "27b" || name == "35b-a3b") {
    const bool dense = name == "27b";
    c.arch = dense ? Arch::kQwen35 : Arch::kQwen35Moe;
    c.n_ctx_train = 262144, c.n_vocab = 248320;
    c.head_dim = 256, c.n_rot = 64, c.rope_sections = {11, 11, 10, 0};
    c.ssm_d_state = 128, c.ssm_n_group = 16;
    if (dense) {
      c.n_layer = 64, c.n_embd = 5120, c.n_ff = 17408, c.n_head = 24, c.n_head_kv = 4;
      c.ssm_dt_rank = 48, c.ssm_d_inner = 6144;
    } else {
      c.n_layer = 40, c.n_embd = 2048, c.n_head = 16, c.n_head_kv = 2;
      c.ssm_dt_rank = 32, c.ssm_d_inner = 4096;
      c.n_expert = 256, c.n_expert_used = 8, c.n_ff_exp = 512, c.n_ff_shexp = 512;
    }
  } else {
    return make_error(ErrorCode::kInvalidArgument, "unknown preset '" + name + "' (tiny, tiny-moe, 27b, 35b-a3b)");
  }
  assign_layer_kinds(&c);
  return c;
}

void write_config_keys(const ModelConfig& c, gguf::Writer& w) {
  const std::string a = arch_name(c.arch);
  w.set_string("general.architecture", a);
  w.set_u32(a + ".block_count", c.n_layer);
  if (c.n_nextn) w.set_u32(a + ".nextn_predict_layers", c.n_nextn);
  w.set_u32(a + ".context_length", c.n_ctx_train);
  w.set_u32(a + ".embedding_length", c.n_embd);
  if (!c.is_moe()) w.set_u32(a + ".feed_forward_length", c.n_ff);
  w.set_u32(a + ".attention.head_count", c.n_head);
  w.set_u32(a + ".attention.head_count_kv", c.n_head_kv);
  w.set_u32(a + ".attention.key_length", c.head_dim);
  w.set_u32(a + ".attention.value_length", c.head_dim);
  w.set_f32(a + ".attention.layer_norm_rms_epsilon", c.rms_eps);
  w.set_f32(a + ".rope.freq_base", c.rope_theta);
  w.set_u32(a + ".rope.dimension_count", c.n_rot);
  w.set_i32_array(a + ".rope.dimension_sections",
                  {c.rope_sections[0], c.rope_sections[1], c.rope_sections[2], c.rope_sections[3]});
  if (c.is_moe()) {
    w.set_u32(a + ".expert_count", c.n_expert);
    w.set_u32(a + ".expert_used_count", c.n_expert_used);
    w.set_u32(a + ".expert_feed_forward_length", c.n_ff_exp);
    w.set_u32(a + ".expert_shared_feed_forward_length", c.n_ff_shexp);
  }
  w.set_u32(a + ".ssm.conv_kernel", c.ssm_conv_kernel);
  w.set_u32(a + ".ssm.state_size", c.ssm_d_state);
  w.set_u32(a + ".ssm.group_count", c.ssm_n_group);
  w.set_u32(a + ".ssm.time_step_rank", c.ssm_dt_rank);
  w.set_u32(a + ".ssm.inner_size", c.ssm_d_inner);
  w.set_u32(a + ".full_attention_interval", c.full_attention_interval);
}

core::Status generate_model(const GenOptions& opt, const std::function<void(gguf::Writer&)>& write_vocab,
                            const std::string& path, core::ThreadPool& pool) {
  const ModelConfig& c = opt.config;
  ONPREM_TRY(validate(c));
  gguf::Writer w;
  write_config_keys(c, w);
  w.set_string("general.name", opt.name);
  w.set_u32("general.file_type", file_type_gguf_id(opt.file_type));
  w.set_u32("general.quantization_version", 2);
  write_vocab(w);

  const auto table = tensor_table(c);
  const auto types = tensor_types(table, c, opt.file_type);
  for (size_t ti = 0; ti < table.size(); ++ti) {
    const TensorSpec& spec = table[ti];
    const GgmlType type = types[ti];
    if (!quant::quantizer(type))
      return make_error(ErrorCode::kUnsupported, std::string("gen-model cannot write ") +
                                                     file_type_name(opt.file_type) + " (no quantiser for " +
                                                     std::string(core::ggml_type_info(uint32_t(type))->name) + ")");
    const uint64_t tensor_seed = opt.seed * 0x9e3779b97f4a7c15ull ^ fnv1a(spec.name);
    w.add_tensor(spec.name, type, spec.ne, [spec, type, tensor_seed, &c, &pool](uint8_t* dst, size_t n_bytes) {
      const uint64_t ne0 = spec.ne[0], rows = spec.n_elements() / ne0;
      const size_t row_bytes = n_bytes / size_t(rows);
      const auto quantize = quant::quantizer(type);
      pool.parallel_for(size_t(rows), [&](size_t b, size_t e) {
        std::vector<float> x(static_cast<size_t>(ne0));
        for (size_t r = b; r < e; ++r) {
          uint64_t s = tensor_seed + 0x632be59bd9b4e019ull * (r + 1);
          Rng rng{splitmix(s)};
          fill_row(spec, c, rng, x.data(), ne0);
          quantize(x.data(), dst + r * row_bytes, int64_t(ne0), nullptr);
        }
      });
    });
  }
  return w.write(path);
}

}  // namespace onprem::model
