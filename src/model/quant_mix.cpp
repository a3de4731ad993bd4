#include "model/quant_mix.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace onprem::model {

using core::ErrorCode;
using core::GgmlType;
using core::make_error;

namespace {

struct Preset {
  FileType type;
  const char* name;
  uint32_t gguf_id;  // llama_ftype, written as general.file_type
  GgmlType base;     // the type of the tensors no rule moves
};

// llama.cpp's file types (llama_ftype) and the base type of each.
constexpr Preset kPresets[] = {
    {FileType::kF32, "F32", 0, GgmlType::kF32},
    {FileType::kF16, "F16", 1, GgmlType::kF16},
    {FileType::kBF16, "BF16", 32, GgmlType::kBF16},
    {FileType::kQ8_0, "Q8_0", 7, GgmlType::kQ8_0},
    {FileType::kQ6_K, "Q6_K", 18, GgmlType::kQ6_K},
    {FileType::kQ5_K_M, "Q5_K_M", 17, GgmlType::kQ5_K},
    {FileType::kQ5_K_S, "Q5_K_S", 16, GgmlType::kQ5_K},
    {FileType::kQ5_1, "Q5_1", 9, GgmlType::kQ5_1},
    {FileType::kQ5_0, "Q5_0", 8, GgmlType::kQ5_0},
    {FileType::kQ4_K_M, "Q4_K_M", 15, GgmlType::kQ4_K},
    {FileType::kQ4_K_S, "Q4_K_S", 14, GgmlType::kQ4_K},
    {FileType::kQ4_K, "Q4_K", 14, GgmlType::kQ4_K},
    {FileType::kQ4_1, "Q4_1", 3, GgmlType::kQ4_1},
    {FileType::kQ4_0, "Q4_0", 2, GgmlType::kQ4_0},
    {FileType::kIQ4_XS, "IQ4_XS", 30, GgmlType::kIQ4_XS},
    {FileType::kIQ4_NL, "IQ4_NL", 25, GgmlType::kIQ4_NL},
    {FileType::kQ3_K_L, "Q3_K_L", 13, GgmlType::kQ3_K},
    {FileType::kQ3_K_M, "Q3_K_M", 12, GgmlType::kQ3_K},
    {FileType::kQ3_K_S, "Q3_K_S", 11, GgmlType::kQ3_K},
    {FileType::kIQ3_M, "IQ3_M", 27, GgmlType::kIQ3_S},
    {FileType::kIQ3_S, "IQ3_S", 26, GgmlType::kIQ3_S},
    {FileType::kIQ3_XXS, "IQ3_XXS", 23, GgmlType::kIQ3_XXS},
    {FileType::kQ2_K, "Q2_K", 10, GgmlType::kQ2_K},
    {FileType::kIQ2_M, "IQ2_M", 29, GgmlType::kIQ2_S},
    {FileType::kIQ2_S, "IQ2_S", 28, GgmlType::kIQ2_XS},
    {FileType::kIQ2_XS, "IQ2_XS", 20, GgmlType::kIQ2_XS},
    {FileType::kIQ2_XXS, "IQ2_XXS", 19, GgmlType::kIQ2_XXS},
    {FileType::kIQ1_M, "IQ1_M", 31, GgmlType::kIQ1_M},
    {FileType::kIQ1_S, "IQ1_S", 24, GgmlType::kIQ1_S},
    {FileType::kMXFP4_MOE, "MXFP4_MOE", 38, GgmlType::kMXFP4},
};

const Preset& preset(FileType t) {
  for (const auto& p : kPresets)
    if (p.type == t) return p;
  return kPresets[0];
}

bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// llama-quantize's categories, by name as it matches them.
enum class Category { kOutput, kTokenEmbd, kAttnV, kAttnK, kAttnQ, kAttnOutput, kFfnUp, kFfnGate, kFfnDown, kOther };
Category category(const TensorSpec& s) {
  if (s.role == TensorRole::kOutput) return Category::kOutput;
  if (s.role == TensorRole::kEmbedding) return Category::kTokenEmbd;
  if (has(s.name, "attn_qkv.weight") || has(s.name, "attn_v.weight")) return Category::kAttnV;  // qkv counts as v
  if (has(s.name, "attn_k.weight")) return Category::kAttnK;
  if (has(s.name, "attn_q.weight")) return Category::kAttnQ;
  if (has(s.name, "attn_output.weight")) return Category::kAttnOutput;
  if (has(s.name, "ffn_up")) return Category::kFfnUp;
  if (has(s.name, "ffn_gate")) return Category::kFfnGate;
  if (has(s.name, "ffn_down")) return Category::kFfnDown;
  return Category::kOther;
}

struct Counters {
  int n_layer = 0, n_gqa = 0, n_expert = 0, n_attn_v = 0;
  int i_attn_v = 0, i_ffn_down = 0;
};

bool any_of(FileType ft, std::initializer_list<FileType> list) {
  return std::find(list.begin(), list.end(), ft) != list.end();
}

// The rules of llama.cpp's llama_tensor_get_type for one quantisable tensor, in its order. Files
// from the hub are made with an importance matrix, which some rules depend on: this assumes one.
GgmlType choose(const TensorSpec& spec, FileType ft, GgmlType t, Counters& q) {
  using F = FileType;
  constexpr bool kImatrix = true;
  const Category cat = category(spec);
  const bool low_iq = any_of(ft, {F::kIQ2_XXS, F::kIQ2_XS, F::kIQ1_S, F::kIQ2_S, F::kIQ2_M, F::kIQ1_M});
  const int block = int(core::ggml_type_info(uint32_t(t))->block_size);
  if (cat == Category::kOutput) {
    if (ft == F::kMXFP4_MOE || spec.ne[0] % uint64_t(block) != 0) return GgmlType::kQ8_0;
    if (low_iq || ft == F::kIQ3_XXS) return GgmlType::kQ5_K;
    return t != GgmlType::kQ8_0 ? GgmlType::kQ6_K : t;
  }
  if (ft == F::kMXFP4_MOE) return spec.ne.size() >= 3 && spec.ne[2] > 1 ? GgmlType::kMXFP4 : GgmlType::kQ8_0;
  if (cat == Category::kTokenEmbd) {
    if (any_of(ft, {F::kIQ2_XXS, F::kIQ2_XS, F::kIQ1_S, F::kIQ1_M})) return GgmlType::kQ2_K;
    if (any_of(ft, {F::kIQ2_S, F::kIQ2_M, F::kIQ3_XXS})) return GgmlType::kIQ3_S;
    return t;
  }
  if (low_iq) {
    const GgmlType up = any_of(ft, {F::kIQ2_S, F::kIQ2_M}) ? GgmlType::kIQ3_S : GgmlType::kQ2_K;
    if (cat == Category::kAttnV) {
      ++q.i_attn_v;
      return q.n_gqa >= 4 || q.n_expert >= 4 ? GgmlType::kQ4_K : up;
    }
    if (q.n_expert == 8 && cat == Category::kAttnK) return GgmlType::kQ4_K;
    if (cat == Category::kFfnDown) return q.i_ffn_down++ < q.n_layer / 8 ? up : t;
    if (cat == Category::kAttnOutput) {
      if (q.n_expert == 8) return GgmlType::kQ5_K;
      if (any_of(ft, {F::kIQ1_S, F::kIQ1_M})) return GgmlType::kIQ2_XXS;
      if (any_of(ft, {F::kIQ2_S, F::kIQ2_M})) return GgmlType::kIQ3_S;
    }
    return t;
  }
  if (cat == Category::kAttnV) {
    const int i = q.i_attn_v++;
    if (ft == F::kQ2_K)
      t = q.n_gqa >= 4 ? GgmlType::kQ4_K : GgmlType::kQ3_K;
    else if (ft == F::kIQ3_XXS)
      t = q.n_gqa >= 4 ? GgmlType::kQ4_K : kImatrix ? GgmlType::kIQ3_XXS : GgmlType::kIQ3_S;
    else if (ft == F::kIQ3_S && q.n_gqa >= 4)
      t = GgmlType::kQ4_K;
    else if (ft == F::kIQ3_M)
      t = GgmlType::kQ4_K;
    else if (ft == F::kQ3_K_M)
      t = i < 2 ? GgmlType::kQ5_K : GgmlType::kQ4_K;
    else if (ft == F::kQ3_K_L)
      t = GgmlType::kQ5_K;
    else if (any_of(ft, {F::kIQ4_NL, F::kIQ4_XS}) && q.n_gqa >= 4)
      t = GgmlType::kQ5_K;
    else if (any_of(ft, {F::kQ4_K_M, F::kQ5_K_M}) && use_more_bits(i, q.n_attn_v))
      t = GgmlType::kQ6_K;
    else if (ft == F::kQ4_K_S && i < 4)
      t = GgmlType::kQ5_K;
    if (q.n_expert == 8) t = GgmlType::kQ8_0;
    return t;
  }
  if (cat == Category::kAttnK) {
    if (q.n_expert == 8) return GgmlType::kQ8_0;
    if (ft == F::kIQ3_XXS) return GgmlType::kIQ2_S;
    return t;
  }
  if (cat == Category::kAttnQ) return ft == F::kIQ3_XXS ? GgmlType::kIQ2_S : t;
  if (cat == Category::kFfnDown) {
    // MoE files name the layer; dense ones count ffn_down tensors (one per layer).
    const int i = q.n_expert > 1 ? spec.layer : q.i_ffn_down;
    const int n = q.n_layer;
    ++q.i_ffn_down;
    if (ft == F::kQ2_K) return GgmlType::kQ3_K;
    if (ft == F::kIQ3_XXS && !kImatrix) return i < n / 8 ? GgmlType::kQ4_K : GgmlType::kQ3_K;
    if (ft == F::kQ3_K_M) return i < n / 16 ? GgmlType::kQ5_K : GgmlType::kQ4_K;
    if (ft == F::kIQ3_M && (i < n / 8 || (q.n_expert == 8 && use_more_bits(i, n)))) return GgmlType::kQ4_K;
    if (ft == F::kQ3_K_L) return GgmlType::kQ5_K;
    if (ft == F::kQ4_K_M) return use_more_bits(i, n) ? GgmlType::kQ6_K : t;
    if (i < n / 8 && any_of(ft, {F::kIQ4_NL, F::kIQ4_XS}) && !kImatrix) return GgmlType::kQ5_K;
    if (ft == F::kQ5_K_M) return use_more_bits(i, n) ? GgmlType::kQ6_K : t;
    if (ft == F::kQ4_K_S && i < n / 8) return GgmlType::kQ5_K;
    if (any_of(ft, {F::kQ4_0, F::kQ5_0}) && kImatrix && i < n / 8)
      return ft == F::kQ4_0 ? GgmlType::kQ4_1 : GgmlType::kQ5_1;
    return t;
  }
  if (cat == Category::kAttnOutput) {
    if (q.n_expert == 8) {
      if (any_of(ft, {F::kQ2_K, F::kIQ3_XXS, F::kQ3_K_S, F::kQ3_K_M, F::kIQ4_NL, F::kQ4_K_S, F::kQ4_K_M, F::kIQ3_S,
                      F::kIQ3_M, F::kIQ4_XS}))
        return GgmlType::kQ5_K;
      return t;
    }
    if (ft == F::kQ2_K) return GgmlType::kQ3_K;
    if (ft == F::kIQ3_XXS) return GgmlType::kIQ3_S;
    if (ft == F::kQ3_K_M || ft == F::kIQ3_M) return GgmlType::kQ4_K;
    if (ft == F::kQ3_K_L) return GgmlType::kQ5_K;
  }
  return t;
}

// A type whose blocks do not tile the rows falls back as llama-quantize falls back.
GgmlType fallback(GgmlType t, uint64_t ncols) {
  auto fits = [&](GgmlType x) { return ncols % core::ggml_type_info(uint32_t(x))->block_size == 0; };
  if (fits(t)) return t;
  GgmlType f = GgmlType::kF16;
  switch (t) {
    case GgmlType::kIQ1_S:
    case GgmlType::kIQ1_M:
    case GgmlType::kIQ2_XXS:
    case GgmlType::kIQ2_XS:
    case GgmlType::kIQ2_S:
    case GgmlType::kIQ3_XXS:
    case GgmlType::kIQ3_S:
    case GgmlType::kIQ4_XS:
      f = GgmlType::kIQ4_NL;
      break;
    case GgmlType::kQ2_K:
    case GgmlType::kQ3_K:
      f = GgmlType::kQ4_0;
      break;
    case GgmlType::kQ4_K:
      f = GgmlType::kQ5_0;
      break;
    case GgmlType::kQ5_K:
      f = GgmlType::kQ5_1;
      break;
    case GgmlType::kQ6_K:
      f = GgmlType::kQ8_0;
      break;
    default:
      break;
  }
  return fits(f) ? f : GgmlType::kF16;
}

}  // namespace

core::Expected<FileType> file_type_from_name(const std::string& name) {
  std::string up;
  for (char ch : name) up += char(std::toupper(static_cast<unsigned char>(ch)));
  std::string all;
  for (const auto& p : kPresets) {
    if (up == p.name) return p.type;
    all += (all.empty() ? "" : ", ") + std::string(p.name);
  }
  return make_error(ErrorCode::kInvalidArgument, "unknown weight type '" + name + "' (" + all + ")");
}

const char* file_type_name(FileType t) { return preset(t).name; }
uint32_t file_type_gguf_id(FileType t) { return preset(t).gguf_id; }
core::GgmlType file_type_base(FileType t) { return preset(t).base; }

std::vector<GgmlType> tensor_types(const std::vector<TensorSpec>& table, const ModelConfig& c, FileType ft) {
  Counters q;
  q.n_layer = int(c.n_layer);
  q.n_gqa = c.n_head_kv ? int(c.n_head / c.n_head_kv) : 0;
  q.n_expert = int(c.n_expert);
  for (const auto& s : table) q.n_attn_v += category(s) == Category::kAttnV;
  const GgmlType base = preset(ft).base;
  const bool quantised = base != GgmlType::kF32 && base != GgmlType::kF16 && base != GgmlType::kBF16;
  std::vector<GgmlType> out;
  out.reserve(table.size());
  for (const auto& spec : table) {
    GgmlType t = base;
    if (spec.stays_f32()) {
      t = GgmlType::kF32;
    } else if (quantised) {
      // kQ4_K is onprem's own all-Q4_K preset (the LM head Q6_K): only the head rule applies.
      t = ft == FileType::kQ4_K ? (spec.role == TensorRole::kOutput ? GgmlType::kQ6_K : base)
                                : choose(spec, ft, base, q);
      t = fallback(t, spec.ne[0]);
    }
    out.push_back(t);
  }
  return out;
}

uint64_t tensor_bytes(const TensorSpec& spec, GgmlType t) {
  const auto info = *core::ggml_type_info(uint32_t(t));
  return spec.n_elements() / info.block_size * info.block_bytes;
}

}  // namespace onprem::model
