#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gguf/file.h"
#include "gguf/writer.h"
#include "text/tokenizer.h"
#include "text/vocab_data.h"

namespace onprem::text {
namespace {

namespace fs = std::filesystem;
const fs::path kShared = ONPREM_SHARED_DIR;

Tokenizer conformance_tokenizer() {
  auto f = gguf::File::open((kShared / "conformance/models/qwen35-tiny-F32.gguf").string());
  EXPECT_TRUE(f.ok());
  auto v = load_vocab(*f);
  EXPECT_TRUE(v.ok()) << v.error().to_string();
  return *Tokenizer::create(std::move(*v));
}

// The nine texts llama.cpp tokenised for the conformance set (ids in the F32 sidecars).
TEST(Tokenizer, ConformanceCasesMatchLlamaCpp) {
  const Tokenizer tok = conformance_tokenizer();
  for (const char* model : {"qwen35-tiny-F32.p64.json", "qwen35moe-tiny-F32.p64.json"}) {
    std::ifstream in(kShared / "conformance/golden" / model);
    const auto j = nlohmann::json::parse(in);
    ASSERT_EQ(j["tokenizer_cases"].size(), 9u);
    for (const auto& c : j["tokenizer_cases"]) {
      const std::string text = c["text"];
      const auto want = c["ids"].get<std::vector<int32_t>>();
      EXPECT_EQ(tok.encode(text, true), want) << text;
      // Decoding with special text gives the input back.
      EXPECT_EQ(tok.decode(want, true), text);
    }
  }
}

TEST(Tokenizer, ControlTokensAreTextUnlessSpecialParsingIsOn) {
  const Tokenizer tok = conformance_tokenizer();
  const int32_t im_start = tok.vocab().find("<|im_start|>");
  const int32_t think = tok.vocab().find("<think>");
  ASSERT_EQ(im_start, 487);
  ASSERT_EQ(think, 510);
  const auto on = tok.encode("<|im_start|>x<think>", true);
  EXPECT_EQ(on.front(), im_start);
  EXPECT_EQ(on.back(), think);
  const auto off = tok.encode("<|im_start|>x<think>", false);
  EXPECT_NE(off.front(), im_start);  // spelled out as ordinary text
  EXPECT_EQ(off.back(), think);      // user-defined tokens always match
  EXPECT_EQ(tok.decode(off, false), "<|im_start|>x<think>");
  EXPECT_EQ(tok.decode(on, false), "x<think>");  // control text only on request
}

TEST(Tokenizer, LosslessOnArbitraryBytes) {
  const Tokenizer tok = conformance_tokenizer();
  std::mt19937 rng(5);
  for (int t = 0; t < 300; ++t) {
    std::string s(size_t(rng() % 40), '\0');
    for (auto& c : s) c = char(rng() % 256);
    EXPECT_EQ(tok.decode(tok.encode(s, false), false), s);
  }
}

TEST(Tokenizer, LongestSpecialTokenWins) {
  const Tokenizer tok = conformance_tokenizer();
  // "</tool_call>" contains no shorter special token, but "<tool_call>" and "</tool_call>"
  // adjacent must both be found.
  const auto ids = tok.encode("<tool_call></tool_call><tool_call>", false);
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(tok.token_bytes(ids[1], true), "</tool_call>");
}

TEST(Vocab, BadMetadataGivesNamedErrors) {
  gguf::Writer w;
  w.set_string("tokenizer.ggml.model", "llama");
  auto b = *w.write_to_memory();
  auto f = gguf::File::parse(b.data(), b.size());
  auto v = load_vocab(*f);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("llama"), std::string::npos);

  gguf::Writer w2;
  w2.set_string("tokenizer.ggml.model", "gpt2");
  w2.set_string_array("tokenizer.ggml.tokens", {"a", "b"});
  w2.set_i32_array("tokenizer.ggml.token_type", {1});
  w2.set_u32("tokenizer.ggml.eos_token_id", 9);
  b = *w2.write_to_memory();
  f = gguf::File::parse(b.data(), b.size());
  v = load_vocab(*f);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("token_type"), std::string::npos);
}

TEST(Vocab, SyntheticVocabularyRoundTrips) {
  auto data = synthetic_vocab(1000);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->tokens.size(), 1000u);
  gguf::Writer w;
  write_vocab_keys(*data, w);
  auto b = *w.write_to_memory();
  auto f = gguf::File::parse(b.data(), b.size());
  auto v = load_vocab(*f);
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  EXPECT_EQ(v->tokens[size_t(v->eos_id)], "<|im_end|>");
  auto tok = Tokenizer::create(std::move(*v));
  const std::string text = "The engine loads GGUF files. 안녕하세요 <think>x</think>";
  const auto ids = tok->encode(text, true);
  const std::string english = "The engine loads GGUF files and the server speaks the API.";
  EXPECT_LT(tok->encode(english, false).size(), english.size() / 2);  // the learned merges compress
  EXPECT_EQ(tok->decode(ids, true), text);
  EXPECT_FALSE(synthetic_vocab(100).ok());
}

TEST(HfImport, AddedTokensAndMergeForms) {
  const std::string json = R"({
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3},
              "merges": [["a", "b"]]},
    "added_tokens": [{"id": 5, "content": "<|im_end|>", "special": true},
                     {"id": 6, "content": "<think>", "special": false}],
    "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\p{L}+"}}
  })";
  auto v = import_hf_tokenizer(json);
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  ASSERT_EQ(v->tokens.size(), 7u);
  EXPECT_EQ(v->tokens[4], "[PAD4]");
  EXPECT_EQ(v->types[4], int32_t(TokenType::kUnused));
  EXPECT_EQ(v->types[5], int32_t(TokenType::kControl));
  EXPECT_EQ(v->types[6], int32_t(TokenType::kUserDefined));
  EXPECT_EQ(v->merges, std::vector<std::string>{"a b"});
  EXPECT_EQ(v->eos_id, 5);
  EXPECT_EQ(v->pre, "qwen2");
  EXPECT_FALSE(import_hf_tokenizer("{not json").ok());
  EXPECT_FALSE(import_hf_tokenizer(R"({"model": {"type": "Unigram"}})").ok());
}

}  // namespace
}  // namespace onprem::text
