#include "model/quant_mix.h"

#include <cctype>
#include <cstring>

namespace onprem::model {

using core::ErrorCode;
using core::GgmlType;
using core::make_error;

namespace {

constexpr FileType kAll[] = {FileType::kF32, FileType::kF16, FileType::kBF16, FileType::kQ8_0, FileType::kQ6_K,
                             FileType::kQ5_K_M, FileType::kQ4_K_M, FileType::kQ4_K, FileType::kQ3_K_M};

bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

GgmlType base_type(FileType ft) {
  switch (ft) {
    case FileType::kF32: return GgmlType::kF32;
    case FileType::kF16: return GgmlType::kF16;
    case FileType::kBF16: return GgmlType::kBF16;
    case FileType::kQ8_0: return GgmlType::kQ8_0;
    case FileType::kQ6_K: return GgmlType::kQ6_K;
    case FileType::kQ5_K_M: return GgmlType::kQ5_K;
    case FileType::kQ4_K_M: case FileType::kQ4_K: return GgmlType::kQ4_K;
    case FileType::kQ3_K_M: return GgmlType::kQ3_K;
  }
  return GgmlType::kF32;
}

}  // namespace

core::Expected<FileType> file_type_from_name(const std::string& name) {
  std::string up;
  for (char ch : name) up += char(std::toupper(static_cast<unsigned char>(ch)));
  for (FileType t : kAll)
    if (up == file_type_name(t)) return t;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown weight type '" + name + "' (F32, F16, BF16, Q8_0, Q6_K, Q5_K_M, Q4_K_M, Q4_K, Q3_K_M)");
}

const char* file_type_name(FileType t) {
  switch (t) {
    case FileType::kF32: return "F32";
    case FileType::kF16: return "F16";
    case FileType::kBF16: return "BF16";
    case FileType::kQ8_0: return "Q8_0";
    case FileType::kQ6_K: return "Q6_K";
    case FileType::kQ5_K_M: return "Q5_K_M";
    case FileType::kQ4_K_M: return "Q4_K_M";
    case FileType::kQ4_K: return "Q4_K";
    case FileType::kQ3_K_M: return "Q3_K_M";
  }
  return "?";
}

uint32_t file_type_gguf_id(FileType t) {
  switch (t) {
    case FileType::kF32: return 0;
    case FileType::kF16: return 1;
    case FileType::kBF16: return 32;
    case FileType::kQ8_0: return 7;
    case FileType::kQ6_K: return 18;
    case FileType::kQ5_K_M: return 17;
    case FileType::kQ4_K_M: return 15;
    case FileType::kQ4_K: return 14;  // llama.cpp calls an all-Q4_K file Q4_K_S
    case FileType::kQ3_K_M: return 12;
  }
  return 0;
}

std::vector<GgmlType> tensor_types(const std::vector<TensorSpec>& table, const ModelConfig& c, FileType ft) {
  const int n_layer = int(c.n_main());
  int attn_v_count = 0, attn_v_index = 0;
  auto is_attn_v = [](const std::string& n) { return ends_with(n, "attn_v.weight") || ends_with(n, "attn_qkv.weight"); };
  for (const auto& s : table) attn_v_count += is_attn_v(s.name);
  std::vector<GgmlType> out;
  out.reserve(table.size());
  for (const auto& spec : table) {
    GgmlType t = base_type(ft);
    const bool mix = ft == FileType::kQ3_K_M || ft == FileType::kQ4_K_M || ft == FileType::kQ5_K_M;
    if (spec.stays_f32()) {
      t = GgmlType::kF32;
    } else if (spec.role == TensorRole::kOutput) {
      if (mix || ft == FileType::kQ4_K) t = GgmlType::kQ6_K;
    } else if (is_attn_v(spec.name)) {
      const int i = attn_v_index++;
      if (ft == FileType::kQ3_K_M) t = i < 2 ? GgmlType::kQ5_K : GgmlType::kQ4_K;
      else if ((ft == FileType::kQ4_K_M || ft == FileType::kQ5_K_M) && use_more_bits(i, attn_v_count)) t = GgmlType::kQ6_K;
    } else if (spec.name.find("ffn_down") != std::string::npos) {
      if (ft == FileType::kQ3_K_M) t = spec.layer < n_layer / 16 ? GgmlType::kQ5_K : GgmlType::kQ4_K;
      else if ((ft == FileType::kQ4_K_M || ft == FileType::kQ5_K_M) && use_more_bits(spec.layer, n_layer)) t = GgmlType::kQ6_K;
    } else if (ends_with(spec.name, "attn_output.weight")) {
      if (ft == FileType::kQ3_K_M) t = GgmlType::kQ4_K;
    }
    // Rows that do not fill whole blocks fall back, as llama-quantize does.
    const auto info = *core::ggml_type_info(uint32_t(t));
    if (spec.ne[0] % info.block_size != 0) t = spec.ne[0] % 32 == 0 ? GgmlType::kQ8_0 : GgmlType::kF16;
    out.push_back(t);
  }
  return out;
}

uint64_t tensor_bytes(const TensorSpec& spec, GgmlType t) {
  const auto info = *core::ggml_type_info(uint32_t(t));
  return spec.n_elements() / info.block_size * info.block_bytes;
}

}  // namespace onprem::model
