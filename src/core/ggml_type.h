// ggml tensor type ids as stored in GGUF files, with their block geometry. A fact of the file
// format shared by gguf/ (sizes, validation) and quant/ (decoding), so it lives below both.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace onprem::core {

enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
};

struct GgmlTypeInfo {
  GgmlType type;
  std::string_view name;  // as llama.cpp prints it: "Q4_K", "BF16"
  uint32_t block_size;    // values per block
  uint32_t block_bytes;   // bytes per block
};

// Known ids only; retired or future ids give nullopt.
std::optional<GgmlTypeInfo> ggml_type_info(uint32_t id);
std::optional<GgmlType> ggml_type_from_name(std::string_view name);  // case-insensitive
// "Q4_K", or "id 40 (unknown to this build)" (files may hold types newer than this build).
std::string ggml_type_name(GgmlType type);

// Bytes of one row of n values; n must be a multiple of the block size (checked by callers).
inline uint64_t ggml_row_bytes(const GgmlTypeInfo& info, uint64_t n) { return n / info.block_size * info.block_bytes; }

}  // namespace onprem::core
