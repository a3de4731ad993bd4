#include "text/vocab_data.h"

#include <algorithm>
#include <map>

#include "gguf/file.h"
#include "gguf/writer.h"
#include "text/pretokenize.h"
#include "text/unicode.h"
#include "text/vocab.h"

namespace onprem::text {

using core::ErrorCode;
using core::make_error;

const std::vector<SpecialToken>& qwen_special_tokens() {
  constexpr int32_t C = int32_t(TokenType::kControl), U = int32_t(TokenType::kUserDefined);
  static const std::vector<SpecialToken> k = {
      {"<|endoftext|>", C},
      {"<|im_start|>", C},
      {"<|im_end|>", C},
      {"<|object_ref_start|>", C},
      {"<|object_ref_end|>", C},
      {"<|box_start|>", C},
      {"<|box_end|>", C},
      {"<|quad_start|>", C},
      {"<|quad_end|>", C},
      {"<|vision_start|>", C},
      {"<|vision_end|>", C},
      {"<|vision_pad|>", C},
      {"<|image_pad|>", C},
      {"<|video_pad|>", C},
      {"<tool_call>", U},
      {"</tool_call>", U},
      {"<|fim_prefix|>", C},
      {"<|fim_middle|>", C},
      {"<|fim_suffix|>", C},
      {"<|fim_pad|>", C},
      {"<|repo_name|>", C},
      {"<|file_sep|>", C},
      {"<tool_response>", U},
      {"</tool_response>", U},
      {"<think>", U},
      {"</think>", U},
      {"<|audio_start|>", C},
      {"<|audio_end|>", C},
      {"<tts_pad>", U},
      {"<tts_text_bos>", U},
      {"<tts_text_eod>", U},
      {"<tts_text_bos_single>", U},
      {"<|audio_pad|>", C},
  };
  return k;
}

namespace {

constexpr std::string_view kBuiltinCorpus =
    "onprem runs Qwen3.6 models on your own hardware. The engine loads GGUF files and computes the same "
    "logits as the reference engine. The server speaks the OpenAI and Anthropic APIs, keeps reasoning "
    "apart from the answer, and calls tools in the XML format. The router sends each request to the "
    "local 27B, the local 35B-A3B, or a frontier API. The planner tells which model and quantisation fit "
    "which GPU at which context. Hello, world! How are you today? I am fine, thank you. "
    "def main():\n    print(\"hello world\")\n    return 0\n\nfor i in range(10):\n    total += i * 2\n"
    "int main(int argc, char** argv) { return argc > 1 ? 0 : 1; }\n"
    "The quick brown fox jumps over the lazy dog. The weather today is sunny with a high of 24 degrees. "
    "안녕하세요. 오늘 날씨는 맑습니다. 서울의 기온은 24도입니다. 감사합니다. "
    "你好，世界。今天天气很好。 The answer is 42. Numbers: 0 1 2 3 4 5 6 7 8 9 100 2026 3.14159 "
    "<tool_call>\n<function=get_weather>\n<parameter=city>\nSeoul\n</parameter>\n</function>\n</tool_call>\n"
    "<think>\nThe user asks about the weather, so I should call the weather tool.\n</think>\n";

// Classic BPE training on pre-tokenised words: repeatedly merge the most frequent adjacent pair.
std::vector<std::pair<std::string, std::string>> learn_merges(std::string_view corpus, size_t max_merges) {
  auto re = PreTokenizerRegex::create(PreTokenizer::kQwen35);
  std::map<std::string, int> word_count;
  for (auto piece : re->split(corpus)) word_count[bytes_to_alphabet(piece)]++;
  std::vector<std::pair<std::vector<std::string>, int>> words;
  for (const auto& [w, n] : word_count) {
    std::vector<std::string> syms;
    for (size_t i = 0; i < w.size();) {
      uint32_t cp;
      const size_t len = decode_utf8(w, i, &cp);
      syms.push_back(w.substr(i, len));
      i += len;
    }
    words.emplace_back(std::move(syms), n);
  }
  std::vector<std::pair<std::string, std::string>> merges;
  while (merges.size() < max_merges) {
    std::map<std::pair<std::string, std::string>, int> pairs;
    for (const auto& [syms, n] : words)
      for (size_t i = 0; i + 1 < syms.size(); ++i) pairs[{syms[i], syms[i + 1]}] += n;
    auto best = pairs.end();
    for (auto it = pairs.begin(); it != pairs.end(); ++it)
      if (best == pairs.end() || it->second > best->second) best = it;  // ties: first in order
    if (best == pairs.end() || best->second < 2) break;
    const auto [a, b] = best->first;
    merges.emplace_back(a, b);
    for (auto& [syms, n] : words) {
      std::vector<std::string> next;
      for (size_t i = 0; i < syms.size(); ++i) {
        if (i + 1 < syms.size() && syms[i] == a && syms[i + 1] == b)
          next.push_back(a + b), ++i;
        else
          next.push_back(syms[i]);
      }
      syms.swap(next);
    }
  }
  return merges;
}

}  // namespace

core::Expected<VocabData> synthetic_vocab(uint32_t n_vocab, std::string_view corpus) {
  const auto& specials = qwen_special_tokens();
  if (n_vocab < 256 + specials.size())
    return make_error(ErrorCode::kInvalidArgument, "a byte-level vocabulary needs at least " +
                                                       std::to_string(256 + specials.size()) + " tokens, asked for " +
                                                       std::to_string(n_vocab));
  VocabData v;
  v.pre = "qwen35";
  for (int b = 0; b < 256; ++b) {
    std::string t;
    append_utf8(t, byte_to_codepoint(uint8_t(b)));
    v.tokens.push_back(t);
  }
  const size_t budget = n_vocab - 256 - specials.size();
  for (auto& [a, b] : learn_merges(corpus.empty() ? kBuiltinCorpus : corpus, std::min<size_t>(budget, 4000))) {
    v.merges.push_back(a + " " + b);
    v.tokens.push_back(a + b);
  }
  v.types.assign(v.tokens.size(), int32_t(TokenType::kNormal));
  for (const auto& s : specials) {
    if (std::string_view(s.text) == "<|endoftext|>") v.pad_id = v.bos_id = int32_t(v.tokens.size());
    if (std::string_view(s.text) == "<|im_end|>") v.eos_id = int32_t(v.tokens.size());
    v.tokens.emplace_back(s.text);
    v.types.push_back(s.type);
  }
  while (v.tokens.size() < n_vocab) {
    v.tokens.push_back("[PAD" + std::to_string(v.tokens.size()) + "]");
    v.types.push_back(int32_t(TokenType::kUnused));
  }
  return v;
}

core::Expected<VocabData> vocab_data_from_gguf(const gguf::File& f) {
  VocabData v;
  ONPREM_TRY_ASSIGN(tokens, f.get_string_array("tokenizer.ggml.tokens"));
  for (auto t : *tokens) v.tokens.emplace_back(t);
  if (f.find("tokenizer.ggml.token_type")) {
    ONPREM_TRY_ASSIGN(types, f.get_i32_array("tokenizer.ggml.token_type"));
    v.types = types;
  } else {
    v.types.assign(v.tokens.size(), int32_t(TokenType::kNormal));
  }
  if (f.find("tokenizer.ggml.merges")) {
    ONPREM_TRY_ASSIGN(merges, f.get_string_array("tokenizer.ggml.merges"));
    for (auto m : *merges) v.merges.emplace_back(m);
  }
  if (auto pre = f.get_string("tokenizer.ggml.pre"); pre.ok()) v.pre = std::string(*pre);
  auto id = [&](const char* key) -> int32_t {
    auto x = f.get_uint(key);
    return x.ok() ? int32_t(*x) : -1;
  };
  v.eos_id = id("tokenizer.ggml.eos_token_id");
  v.bos_id = id("tokenizer.ggml.bos_token_id");
  v.pad_id = id("tokenizer.ggml.padding_token_id");
  if (auto t = f.get_string("tokenizer.chat_template"); t.ok()) v.chat_template = std::string(*t);
  return v;
}

void write_vocab_keys(const VocabData& v, gguf::Writer& w) {
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", v.pre);
  w.set_string_array("tokenizer.ggml.tokens", v.tokens);
  w.set_i32_array("tokenizer.ggml.token_type", v.types);
  w.set_string_array("tokenizer.ggml.merges", v.merges);
  if (v.eos_id >= 0) w.set_u32("tokenizer.ggml.eos_token_id", uint32_t(v.eos_id));
  if (v.bos_id >= 0) w.set_u32("tokenizer.ggml.bos_token_id", uint32_t(v.bos_id));
  if (v.pad_id >= 0) w.set_u32("tokenizer.ggml.padding_token_id", uint32_t(v.pad_id));
  w.set_bool("tokenizer.ggml.add_bos_token", false);
  if (!v.chat_template.empty()) w.set_string("tokenizer.chat_template", v.chat_template);
}

}  // namespace onprem::text
