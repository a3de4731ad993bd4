// A vocabulary as plain data, for writing into a GGUF file: built from scratch (synthetic_vocab),
// imported from a Hugging Face tokenizer.json (import_hf_tokenizer) or copied from a GGUF.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace onprem::gguf {
class File;
class Writer;
}  // namespace onprem::gguf

namespace onprem::text {

struct VocabData {
  std::vector<std::string> tokens;  // byte-level alphabet for normal tokens, literal for special
  std::vector<int32_t> types;       // TokenType values
  std::vector<std::string> merges;  // "left right", index = rank
  std::string pre = "qwen35";
  int32_t eos_id = -1, bos_id = -1, pad_id = -1;
  std::string chat_template;  // empty: none
};

// The 33 Qwen3.5/3.6 special tokens in id order (formats.md §4), with their types.
struct SpecialToken {
  const char* text;
  int32_t type;
};
const std::vector<SpecialToken>& qwen_special_tokens();

// 256 byte tokens, merges learned on a small built-in corpus (at most n_vocab - 256 - 33 of them,
// fewer when the corpus runs out of repeated pairs), the Qwen special tokens, then padding
// tokens "[PAD<id>]" up to n_vocab. Deterministic.
core::Expected<VocabData> synthetic_vocab(uint32_t n_vocab, std::string_view corpus = {});

// Any Hugging Face byte-level BPE tokenizer.json; added tokens included.
core::Expected<VocabData> import_hf_tokenizer(std::string_view json_text);

// Copies the tokenizer.* keys of a GGUF file.
core::Expected<VocabData> vocab_data_from_gguf(const gguf::File& f);

void write_vocab_keys(const VocabData& v, gguf::Writer& w);

}  // namespace onprem::text
