#include <random>

#include <gtest/gtest.h>

#include "chat/json_schema.h"
#include "chat/token_mask.h"
#include "gguf/file.h"

namespace onprem::chat {
namespace {

bool matches(const Grammar& g, const std::string& s) {
  auto st = *GrammarState::start(g);
  return st.accept_bytes(s) && st.can_end();
}

TEST(Grammar, SchemaLanguage) {
  const Json schema = Json::parse(R"({"type": "object", "properties": {
      "id": {"type": "integer", "minimum": 0}, "name": {"type": "string", "maxLength": 4},
      "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2}, "ok": {"type": ["boolean", "null"]}},
      "required": ["id"]})");
  const Grammar g = *grammar_from_schema(schema);
  for (const char* good : {R"({"id":0})", R"({"id":12,"name":"abcd"})", R"({"id":1,"tags":["a","b"],"ok":null})",
                           R"({"id":7,"name":"한국","ok":true})", R"({"id":3,"name":"\n\""})"})
    EXPECT_TRUE(matches(g, good)) << good;
  for (const char* bad :
       {R"({})", R"({"id":-1})", R"({"id":01})", R"({"id":1,"name":"abcde"})", R"({"id":1,"tags":["c"]})",
        R"({"id":1,"tags":["a","b","a"]})", R"({"name":"x","id":1})", R"({"id":1} )", R"({"id":1,"ok":1})"})
    EXPECT_FALSE(matches(g, bad)) << bad;
  EXPECT_FALSE(grammar_from_schema(Json::parse(R"({"$ref": "#/x"})")).ok());
  EXPECT_FALSE(grammar_from_schema(Json::parse(R"({"enum": []})")).ok());
}

TEST(Grammar, ToolCallXml) {
  const Json tools =
      Json::parse(R"([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
      "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}}])");
  const Grammar g = *grammar_for_tool_call(tools, "get_weather");
  EXPECT_TRUE(matches(g,
                      "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</"
                      "parameter>\n<parameter=days>\n2\n</parameter>\n</function>\n</tool_call>"));
  EXPECT_FALSE(matches(g, "<tool_call>\n<function=other>\n</function>\n</tool_call>"));
  EXPECT_FALSE(grammar_for_tool_call(tools, "nope").ok());
}

// The trie walk gives exactly the tokens whose bytes the grammar accepts, in many states.
TEST(TokenMask, TrieEqualsBruteForce) {
  auto f = gguf::File::open(std::string(ONPREM_SHARED_DIR) + "/conformance/models/qwen35-tiny-F32.gguf");
  const auto tok = *text::Tokenizer::create(*text::load_vocab(*f));
  const TokenTrie trie(tok);
  const Grammar g = *grammar_from_schema(Json::parse(
      R"({"type": "object", "properties": {"a": {"type": "string", "maxLength": 6}, "n": {"type": "number"},)"
      R"( "l": {"type": "array", "items": {"type": "boolean"}}}})"));
  std::mt19937 rng(4);
  int states = 0;
  for (int trial = 0; trial < 20; ++trial) {
    auto st = *GrammarState::start(g);
    for (int step = 0; step < 60; ++step) {
      std::vector<uint8_t> mask;
      const size_t n = compute_mask(trie, st, mask);
      size_t brute = 0;
      std::vector<int32_t> ok;
      for (size_t id = 0; id < tok.vocab().size(); ++id) {
        const auto type = tok.vocab().types[id];
        if (type != text::TokenType::kNormal && type != text::TokenType::kUserDefined) continue;
        GrammarState copy = st;
        const bool yes = copy.accept_bytes(tok.token_bytes(int32_t(id), false));
        EXPECT_EQ(bool(mask[id]), yes) << "token " << id << " step " << step;
        if (yes) ok.push_back(int32_t(id)), ++brute;
      }
      EXPECT_EQ(n, brute);
      ++states;
      if (ok.empty()) break;
      st.accept_bytes(tok.token_bytes(ok[rng() % ok.size()], false));
    }
  }
  EXPECT_GT(states, 100);
}

}  // namespace
}  // namespace onprem::chat
