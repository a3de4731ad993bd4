// The tokenizer vocabulary read from GGUF metadata (formats.md §4): token texts in the byte-level
// alphabet, token types, merge ranks, special ids. Immutable after load; share freely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace onprem::gguf {
class File;
}

namespace onprem::text {

enum class TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

enum class PreTokenizer { kQwen2, kQwen35 };
const char* pre_tokenizer_name(PreTokenizer p);

struct Vocab {
  std::vector<std::string> tokens;  // texts as stored (byte-level alphabet for normal tokens)
  std::vector<TokenType> types;
  std::unordered_map<std::string, int32_t> token_to_id;
  // (left id << 32 | right id) -> rank and merged id
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  std::unordered_map<uint64_t, Merge> merges;
  size_t n_merges = 0;
  PreTokenizer pre = PreTokenizer::kQwen35;
  std::string pre_name;
  int32_t eos_id = -1, bos_id = -1, pad_id = -1;
  bool add_bos = false, add_eos = false;
  std::vector<int32_t> eog_ids;      // end-of-generation set
  std::vector<int32_t> special_ids;  // CONTROL / USER_DEFINED / UNKNOWN, longest text first
  int32_t byte_ids[256];             // token of each single byte (-1 if missing)

  size_t size() const { return tokens.size(); }
  bool is_eog(int32_t id) const;
  int32_t find(std::string_view text) const;  // -1 if absent
};

// Needs tokenizer.ggml.model = "gpt2" and tokenizer.ggml.pre = qwen2 / qwen35 (and the other
// byte-level BPE names that use the Qwen2 split: "qwen3", "default" maps to qwen2 with a warning).
core::Expected<Vocab> load_vocab(const gguf::File& file);

}  // namespace onprem::text
