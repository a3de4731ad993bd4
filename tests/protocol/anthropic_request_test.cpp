// The one reading of an Anthropic Messages request: every field, parsed into a ChatRequest and
// written out as a chat body, against the body written out by hand as the OpenAI chat API defines
// each counterpart; and every refusal naming the Anthropic field.
#include <gtest/gtest.h>

#include "protocol/anthropic_request.h"
#include "protocol/chat_body.h"

using onprem::protocol::ApiError;
using onprem::protocol::ChatRequest;
using onprem::protocol::Json;
using onprem::protocol::parse_anthropic;

namespace {

struct How {
  bool count_only = false, onprem_extensions = true;
};

Json translate(const Json& body, How how = {}) {
  ChatRequest r;
  const auto e = parse_anthropic(body, {.count_only = how.count_only}, &r);
  EXPECT_FALSE(e) << (e ? e->message : "");
  return onprem::protocol::chat_body(r, {.onprem_extensions = how.onprem_extensions});
}

ApiError refusal(const Json& body, How how = {}) {
  ChatRequest r;
  const auto e = parse_anthropic(body, {.count_only = how.count_only}, &r);
  EXPECT_TRUE(e) << "accepted: " << body.dump();
  return e ? *e : ApiError{};
}

Json user(const char* text) { return {{"role", "user"}, {"content", text}}; }

}  // namespace

TEST(AnthropicRequest, EveryMessageFieldBecomesItsChatCounterpart) {
  const Json body = Json::parse(R"({
    "model": "qwen", "max_tokens": 300,
    "system": [{"type": "text", "text": "You are "}, {"type": "text", "text": "terse."}],
    "messages": [
      {"role": "user", "content": [
        {"type": "text", "text": "What is in "},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
        {"type": "text", "text": "these?"}]},
      {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "Look up ", "signature": "s1"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "thinking", "thinking": "the weather.", "signature": "s2"},
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Seoul", "days": 2}},
        {"type": "tool_use", "id": "toolu_2", "name": "now", "input": {}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "12 C"},
        {"type": "tool_result", "tool_use_id": "toolu_2",
         "content": [{"type": "text", "text": "09:00"}, {"type": "text", "text": " KST"}]},
        {"type": "text", "text": "And tomorrow?"}]},
      {"role": "system", "content": "Answer in Korean."},
      {"role": "assistant", "content": "Okay."}]
  })");
  const Json want = Json::parse(R"({"messages": [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": [
      {"type": "text", "text": "What is in "},
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
      {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
      {"type": "text", "text": "these?"}]},
    {"role": "assistant", "content": "Checking.", "reasoning_content": "Look up the weather.",
     "tool_calls": [
       {"id": "toolu_1", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\":\"Seoul\",\"days\":2}"}},
       {"id": "toolu_2", "type": "function", "function": {"name": "now", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "toolu_1", "content": "12 C"},
    {"role": "tool", "tool_call_id": "toolu_2", "content": "09:00 KST"},
    {"role": "user", "content": "And tomorrow?"},
    {"role": "system", "content": "Answer in Korean."},
    {"role": "assistant", "content": "Okay."}]})");
  const Json got = translate(body);
  EXPECT_EQ(got["messages"], want["messages"]);
  EXPECT_EQ(got["model"], "qwen");
  EXPECT_EQ(got["max_tokens"], 300);
}

TEST(AnthropicRequest, EveryRequestFieldBecomesItsChatCounterpart) {
  const Json body = Json::parse(R"({
    "model": "m", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}],
    "temperature": 0.3, "top_p": 0.9, "top_k": 20, "stream": true, "stop_sequences": ["END", "STOP"],
    "metadata": {"user_id": "u-7"},
    "tools": [{"name": "get_weather", "description": "Weather now",
               "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
              {"name": "noop"}],
    "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true},
    "thinking": {"type": "enabled", "budget_tokens": 2048}
  })");
  const Json want = Json::parse(R"({
    "messages": [{"role": "user", "content": "hi"}],
    "model": "m", "max_tokens": 50, "temperature": 0.3, "top_p": 0.9, "top_k": 20, "stream": true,
    "stop": ["END", "STOP"],
    "tools": [{"type": "function", "function": {"name": "get_weather",
                 "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                 "description": "Weather now"}},
              {"type": "function", "function": {"name": "noop", "parameters": {"type": "object"}}}],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": false,
    "user": "u-7",
    "thinking_budget": 2048,
    "chat_template_kwargs": {"enable_thinking": true}
  })");
  EXPECT_EQ(translate(body), want);
}

TEST(AnthropicRequest, ToolChoiceEachType) {
  auto choice = [](const Json& tc) {
    Json b = {{"max_tokens", 5},
              {"messages", {user("x")}},
              {"tools", Json::array({Json{{"name", "f"}}})},
              {"tool_choice", tc}};
    return translate(b)["tool_choice"];
  };
  EXPECT_EQ(choice({{"type", "auto"}}), "auto");
  EXPECT_EQ(choice({{"type", "any"}}), "required");
  EXPECT_EQ(choice({{"type", "none"}}), "none");
  EXPECT_EQ(choice({{"type", "tool"}, {"name", "f"}}), Json::parse(R"({"type":"function","function":{"name":"f"}})"));
}

TEST(AnthropicRequest, ThinkingAsAnthropicDefinesIt) {
  auto chat = [](Json extra) {
    Json b = {{"max_tokens", 5}, {"messages", {user("x")}}};
    for (auto& [k, v] : extra.items()) b[k] = v;
    return translate(b);
  };
  const Json off = {{"enable_thinking", false}}, on = {{"enable_thinking", true}};
  // Absent or disabled: off (Anthropic's default, unlike Qwen's template).
  EXPECT_EQ(chat(Json::object())["chat_template_kwargs"], off);
  EXPECT_EQ(chat({{"thinking", {{"type", "disabled"}}}})["chat_template_kwargs"], off);
  // Enabled without a budget: on, no budget.
  Json e = chat({{"thinking", {{"type", "enabled"}}}});
  EXPECT_EQ(e["chat_template_kwargs"], on);
  EXPECT_FALSE(e.contains("thinking_budget"));
  // Adaptive: the effort's budget; high when absent; "max" is no budget.
  Json a = chat({{"thinking", {{"type", "adaptive"}}}});
  EXPECT_EQ(a["chat_template_kwargs"], on);
  EXPECT_EQ(a["thinking_budget"], 16384);
  EXPECT_EQ(chat({{"thinking", {{"type", "adaptive"}}}, {"output_config", {{"effort", "low"}}}})["thinking_budget"],
            1024);
  EXPECT_EQ(chat({{"thinking", {{"type", "adaptive"}}}, {"output_config", {{"effort", "medium"}}}})["thinking_budget"],
            4096);
  EXPECT_FALSE(
      chat({{"thinking", {{"type", "adaptive"}}}, {"output_config", {{"effort", "max"}}}}).contains("thinking_budget"));
}

TEST(AnthropicRequest, ExtensionsOnlyForServe) {
  const Json body = {{"max_tokens", 5},        {"messages", {user("x")}}, {"preset", "coding"},
                     {"ignore_eos", true},     {"loop_guard", false},     {"restore_reasoning", true},
                     {"thinking_budget", 100}, {"unknown_field", 1}};
  const Json serve = translate(body);
  for (const char* k : {"preset", "ignore_eos", "loop_guard", "restore_reasoning", "thinking_budget"})
    EXPECT_EQ(serve[k], body[k]) << k;
  EXPECT_FALSE(serve.contains("unknown_field"));
  const Json other = translate(body, {.onprem_extensions = false});
  for (const char* k : {"preset", "ignore_eos", "loop_guard", "restore_reasoning", "thinking_budget", "unknown_field"})
    EXPECT_FALSE(other.contains(k)) << k;
}

TEST(AnthropicRequest, CountTokensNeedsNoMaxTokens) {
  const Json body = {{"messages", {user("x")}}};
  EXPECT_EQ(refusal(body).param, "max_tokens");
  EXPECT_FALSE(translate(body, {.count_only = true}).contains("max_tokens"));
}

TEST(AnthropicRequest, RefusalsNameTheAnthropicField) {
  const Json ok = {{"max_tokens", 5}, {"messages", {user("x")}}};
  auto with = [&](const char* k, Json v) {
    Json b = ok;
    b[k] = std::move(v);
    return refusal(b);
  };
  EXPECT_EQ(refusal(Json::array()).status, 400);
  EXPECT_EQ(with("messages", Json::array()).param, "messages");
  EXPECT_EQ(with("messages", "hi").param, "messages");
  EXPECT_EQ(with("max_tokens", "5").param, "max_tokens");
  EXPECT_EQ(with("system", 3).param, "system");
  EXPECT_EQ(with("stop_sequences", "END").param, "stop_sequences");
  EXPECT_EQ(with("tools", Json::object()).param, "tools");
  EXPECT_EQ(with("tools", Json::array({Json{{"description", "no name"}}})).param, "tools");
  EXPECT_EQ(with("tools", Json::array({Json{{"name", "f"}, {"input_schema", "x"}}})).param, "tools");
  EXPECT_EQ(with("tool_choice", "auto").param, "tool_choice");
  EXPECT_EQ(with("tool_choice", {{"type", "tool"}}).param, "tool_choice");
  const ApiError tag = with("tool_choice", {{"type", "bogus"}});
  EXPECT_NE(tag.message.find("'bogus'"), std::string::npos) << tag.message;
  EXPECT_EQ(with("messages", Json::array({Json{{"role", "tool"}, {"content", "x"}}})).param, "messages");
  EXPECT_EQ(with("messages", Json::array({Json{{"role", "user"}, {"content", 5}}})).param, "messages");
  const ApiError block =
      with("messages", Json::array({Json{{"role", "user"}, {"content", Json::array({Json{{"type", "document"}}})}}}));
  EXPECT_NE(block.message.find("'document'"), std::string::npos) << block.message;
  EXPECT_EQ(
      with("messages",
           Json::array({Json{{"role", "user"},
                             {"content", Json::array({Json{{"type", "image"}, {"source", {{"type", "file"}}}}})}}}))
          .param,
      "messages");
  // Anthropic's own wording for a thinking type it does not know, and for a bad effort.
  const ApiError thinking = with("thinking", {{"type", "bogus"}});
  EXPECT_EQ(thinking.param, "thinking");
  EXPECT_NE(thinking.message.find("Input tag 'bogus' found using 'type'"), std::string::npos) << thinking.message;
  Json effort = ok;
  effort["thinking"] = {{"type", "adaptive"}};
  effort["output_config"] = {{"effort", "extreme"}};
  EXPECT_EQ(refusal(effort).param, "output_config");
  EXPECT_EQ(with("thinking", {{"type", "enabled"}, {"budget_tokens", "5"}}).param, "thinking");
}
