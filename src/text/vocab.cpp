#include "text/vocab.h"

#include <algorithm>

#include "gguf/file.h"
#include "text/unicode.h"

namespace onprem::text {

using core::ErrorCode;
using core::make_error;

const char* pre_tokenizer_name(PreTokenizer p) { return p == PreTokenizer::kQwen2 ? "qwen2" : "qwen35"; }

bool Vocab::is_eog(int32_t id) const { return std::find(eog_ids.begin(), eog_ids.end(), id) != eog_ids.end(); }

int32_t Vocab::find(std::string_view text) const {
  auto it = token_to_id.find(std::string(text));
  return it == token_to_id.end() ? -1 : it->second;
}

namespace {

core::Expected<int32_t> optional_id(const gguf::File& f, const char* key, size_t n_tokens) {
  if (!f.find(key)) return -1;
  ONPREM_TRY_ASSIGN(v, f.get_uint(key));
  if (v >= n_tokens)
    return make_error(ErrorCode::kCorrupt, std::string(key) + " = " + std::to_string(v) +
                                               " is not a token id (vocabulary has " + std::to_string(n_tokens) + ")");
  return int32_t(v);
}

core::Status load_merges(const gguf::File& f, Vocab& v) {
  if (!f.find("tokenizer.ggml.merges")) return core::Ok{};
  ONPREM_TRY_ASSIGN(merges, f.get_string_array("tokenizer.ggml.merges"));
  v.n_merges = merges->size();
  v.merges.reserve(merges->size());
  for (size_t rank = 0; rank < merges->size(); ++rank) {
    const std::string_view m = (*merges)[rank];
    const size_t sp = m.find(' ', 1);
    if (sp == std::string_view::npos)
      return make_error(ErrorCode::kCorrupt,
                        "merge " + std::to_string(rank) + " '" + std::string(m) + "' has no space");
    const std::string left(m.substr(0, sp)), right(m.substr(sp + 1));
    const int32_t l = v.find(left), r = v.find(right), res = v.find(left + right);
    // A merge whose parts or result are not tokens can never fire: skip it as llama.cpp would
    // never produce a token from it.
    if (l < 0 || r < 0 || res < 0) continue;
    const uint64_t key = (uint64_t(uint32_t(l)) << 32) | uint32_t(r);
    v.merges.emplace(key, Vocab::Merge{int32_t(rank), res});  // first (lowest) rank wins
  }
  return core::Ok{};
}

}  // namespace

core::Expected<Vocab> load_vocab(const gguf::File& f) {
  ONPREM_TRY_ASSIGN(model, f.get_string("tokenizer.ggml.model"));
  if (model != "gpt2")
    return make_error(ErrorCode::kUnsupported,
                      "tokenizer model '" + std::string(model) + "' is not supported (only byte-level BPE 'gpt2')");
  Vocab v;
  v.pre_name = "qwen35";
  if (f.find("tokenizer.ggml.pre")) {
    ONPREM_TRY_ASSIGN(pre, f.get_string("tokenizer.ggml.pre"));
    v.pre_name = std::string(pre);
  }
  if (v.pre_name == "qwen35")
    v.pre = PreTokenizer::kQwen35;
  else if (v.pre_name == "qwen2" || v.pre_name == "qwen3")
    v.pre = PreTokenizer::kQwen2;
  else
    return make_error(ErrorCode::kUnsupported, "pre-tokenizer '" + v.pre_name + "' is not supported (qwen2, qwen35)");

  ONPREM_TRY_ASSIGN(tokens, f.get_string_array("tokenizer.ggml.tokens"));
  const size_t n = tokens->size();
  if (n == 0 || n > (1u << 30))
    return make_error(ErrorCode::kCorrupt, "tokenizer.ggml.tokens has " + std::to_string(n) + " entries");
  v.tokens.reserve(n);
  v.token_to_id.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    v.tokens.emplace_back((*tokens)[i]);
    v.token_to_id.emplace(v.tokens.back(), int32_t(i));  // duplicates: the first id wins
  }
  v.types.assign(n, TokenType::kNormal);
  if (f.find("tokenizer.ggml.token_type")) {
    ONPREM_TRY_ASSIGN(types, f.get_i32_array("tokenizer.ggml.token_type"));
    if (types.size() != n)
      return make_error(ErrorCode::kCorrupt, "tokenizer.ggml.token_type has " + std::to_string(types.size()) +
                                                 " entries for " + std::to_string(n) + " tokens");
    for (size_t i = 0; i < n; ++i) {
      if (types[i] < 1 || types[i] > 6)
        return make_error(ErrorCode::kCorrupt,
                          "token " + std::to_string(i) + " has unknown type " + std::to_string(types[i]));
      v.types[i] = TokenType(types[i]);
    }
  }
  ONPREM_TRY(load_merges(f, v));
  ONPREM_TRY_ASSIGN(eos, optional_id(f, "tokenizer.ggml.eos_token_id", n));
  ONPREM_TRY_ASSIGN(bos, optional_id(f, "tokenizer.ggml.bos_token_id", n));
  ONPREM_TRY_ASSIGN(pad, optional_id(f, "tokenizer.ggml.padding_token_id", n));
  ONPREM_TRY_ASSIGN(eot, optional_id(f, "tokenizer.ggml.eot_token_id", n));
  v.eos_id = eos, v.bos_id = bos, v.pad_id = pad;
  if (f.find("tokenizer.ggml.add_bos_token")) {
    ONPREM_TRY_ASSIGN(b, f.get_bool("tokenizer.ggml.add_bos_token"));
    v.add_bos = b;
  }
  if (f.find("tokenizer.ggml.add_eos_token")) {
    ONPREM_TRY_ASSIGN(b, f.get_bool("tokenizer.ggml.add_eos_token"));
    v.add_eos = b;
  }

  // End of generation: EOS, EOT, and the chat/FIM end markers llama.cpp recognises by text.
  if (eos >= 0) v.eog_ids.push_back(eos);
  if (eot >= 0 && eot != eos) v.eog_ids.push_back(eot);
  for (const char* t : {"<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|fim_pad|>",
                        "<|repo_name|>", "<|file_sep|>"}) {
    const int32_t id = v.find(t);
    if (id >= 0 && !v.is_eog(id)) v.eog_ids.push_back(id);
  }
  for (size_t i = 0; i < n; ++i) {
    const TokenType t = v.types[i];
    if ((t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown) && !v.tokens[i].empty())
      v.special_ids.push_back(int32_t(i));
  }
  std::stable_sort(v.special_ids.begin(), v.special_ids.end(),
                   [&](int32_t a, int32_t b) { return v.tokens[size_t(a)].size() > v.tokens[size_t(b)].size(); });
  for (int b = 0; b < 256; ++b) {
    std::string ch;
    append_utf8(ch, byte_to_codepoint(uint8_t(b)));
    v.byte_ids[b] = v.find(ch);
  }
  return v;
}

}  // namespace onprem::text
