// tokenizer.json (Hugging Face `tokenizers`) -> VocabData, as llama.cpp's converter maps it:
// added tokens flagged special, or spelled <|...|>, become CONTROL; other added tokens
// USER_DEFINED; ids no token claims become "[PAD<id>]" UNUSED.
#include <nlohmann/json.hpp>

#include "text/vocab.h"
#include "text/vocab_data.h"

namespace onprem::text {

using core::ErrorCode;
using core::make_error;
using nlohmann::json;

namespace {

bool control_spelling(const std::string& s) {
  return s.size() >= 4 && s.compare(0, 2, "<|") == 0 && s.compare(s.size() - 2, 2, "|>") == 0;
}

// The split regex tells Qwen3.5 (marks join letters) from Qwen2/3.
std::string detect_pre(const json& j) {
  const std::string dump = j.contains("pre_tokenizer") ? j["pre_tokenizer"].dump() : "";
  return dump.find("\\\\p{M}") != std::string::npos || dump.find("\\p{M}") != std::string::npos ? "qwen35" : "qwen2";
}

}  // namespace

core::Expected<VocabData> import_hf_tokenizer(std::string_view json_text) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    return make_error(ErrorCode::kCorrupt, std::string("tokenizer.json is not valid JSON: ") + e.what());
  }
  try {
    const json& model = j.at("model");
    if (model.value("type", "") != "BPE")
      return make_error(ErrorCode::kUnsupported,
                        "tokenizer.json model type is '" + model.value("type", "") + "', only BPE is supported");
    const json& vocab = model.at("vocab");
    size_t n = 0;
    for (auto it = vocab.begin(); it != vocab.end(); ++it) n = std::max<size_t>(n, it.value().get<size_t>() + 1);
    const json added = j.contains("added_tokens") ? j["added_tokens"] : json::array();
    for (const auto& a : added) n = std::max<size_t>(n, a.at("id").get<size_t>() + 1);
    if (n == 0 || n > (1u << 24))
      return make_error(ErrorCode::kCorrupt, "tokenizer.json has an implausible vocabulary size " + std::to_string(n));

    VocabData v;
    v.tokens.assign(n, std::string());
    v.types.assign(n, int32_t(TokenType::kUnused));
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
      const size_t id = it.value().get<size_t>();
      v.tokens[id] = it.key();
      v.types[id] = int32_t(TokenType::kNormal);
    }
    for (const auto& a : added) {
      const size_t id = a.at("id").get<size_t>();
      const std::string content = a.at("content").get<std::string>();
      v.tokens[id] = content;
      v.types[id] = int32_t(a.value("special", false) || control_spelling(content) ? TokenType::kControl
                                                                                   : TokenType::kUserDefined);
    }
    for (size_t id = 0; id < n; ++id)
      if (v.types[id] == int32_t(TokenType::kUnused)) v.tokens[id] = "[PAD" + std::to_string(id) + "]";
    for (const auto& m : model.at("merges")) {
      // Older files store "a b"; newer ones ["a", "b"].
      if (m.is_string())
        v.merges.push_back(m.get<std::string>());
      else
        v.merges.push_back(m.at(0).get<std::string>() + " " + m.at(1).get<std::string>());
    }
    v.pre = detect_pre(j);
    for (size_t id = 0; id < n; ++id) {
      if (v.tokens[id] == "<|im_end|>") v.eos_id = int32_t(id);
      if (v.tokens[id] == "<|endoftext|>") v.pad_id = int32_t(id);
    }
    return v;
  } catch (const json::exception& e) {
    return make_error(ErrorCode::kCorrupt, std::string("tokenizer.json has an unexpected shape: ") + e.what());
  }
}

}  // namespace onprem::text
