// The ChatRequest from the OpenAI and Responses APIs, and written out both ways: every field of a
// chat body read and written back, the Anthropic body a chat request becomes and the chat body a
// Responses request becomes (each written out by hand from the API's reference), and every
// refusal naming the client's field.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "protocol/anthropic_body.h"
#include "protocol/chat_body.h"
#include "protocol/openai_request.h"
#include "protocol/responses_request.h"

using namespace onprem::protocol;

namespace {

// Key order is not part of either API: compared as unordered objects.
nlohmann::json unordered(const Json& j) { return nlohmann::json::parse(j.dump()); }

ChatRequest parsed(const Json& body) {
  ChatRequest r;
  const auto e = parse_openai_chat(body, &r);
  EXPECT_FALSE(e) << (e ? e->message : "");
  return r;
}

ApiError refusal(const Json& body) {
  ChatRequest r;
  const auto e = parse_openai_chat(body, &r);
  EXPECT_TRUE(e) << "accepted: " << body.dump();
  return e ? *e : ApiError{};
}

// Every field a chat body can carry, in the form the writer gives back.
const char* kEveryField = R"({
  "model": "qwen", "max_tokens": 300,
  "temperature": 0.3, "top_p": 0.9, "min_p": 0.05, "presence_penalty": 0.5, "frequency_penalty": -0.5,
  "repetition_penalty": 1.1, "top_k": 20, "seed": 42, "logit_bias": {"7": -100, "12": 2.5},
  "stream": true, "stream_options": {"include_usage": true}, "stop": ["END", "STOP"],
  "logprobs": true, "top_logprobs": 3,
  "messages": [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "name": "ana", "content": [
      {"type": "text", "text": "What is in "},
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
      {"type": "text", "text": "this?"}]},
    {"role": "assistant", "content": "Checking.", "reasoning_content": "Look.",
     "tool_calls": [{"id": "c1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Seoul\"}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "12 C"},
    {"role": "user", "content": "Thanks."}],
  "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": true}}],
  "tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "parallel_tool_calls": false,
  "response_format": {"type": "json_schema", "json_schema": {"name": "response", "schema": {"type": "object"}}},
  "user": "u-7", "reasoning_effort": "high",
  "preset": "coding", "ignore_eos": true, "loop_guard": false, "restore_reasoning": true, "thinking_budget": 512,
  "chat_template_kwargs": {"enable_thinking": true, "preserve_thinking": true}
})";

}  // namespace

TEST(ChatRequest, EveryChatFieldIsReadAndWrittenBack) {
  const Json body = Json::parse(kEveryField);
  const ChatRequest r = parsed(body);
  // A few read values, typed: what the planner and the writers work from.
  EXPECT_EQ(r.messages.size(), 5u);
  EXPECT_EQ(r.messages[1].content.size(), 3u);
  EXPECT_EQ(r.messages[1].content[1].kind, ContentPart::Kind::kImage);
  EXPECT_EQ(r.messages[2].tool_calls[0].arguments, "{\"city\":\"Seoul\"}");
  EXPECT_EQ(r.tool_choice.mode, ToolChoice::Mode::kNamed);
  EXPECT_EQ(r.sampling.top_k, 20);
  EXPECT_EQ(r.sampling.logit_bias.size(), 2u);
  EXPECT_EQ(r.thinking.budget, 512);
  EXPECT_TRUE(r.thinking.preserve);
  EXPECT_FALSE(r.loop_guard);
  EXPECT_EQ(unordered(chat_body(r)), unordered(body));
  // For another server: only what the chat API and Qwen's template kwargs define.
  Json plain = body;
  for (const char* k : {"preset", "ignore_eos", "loop_guard", "restore_reasoning"}) plain.erase(k);
  EXPECT_EQ(unordered(chat_body(r, {.onprem_extensions = false})), unordered(plain));
}

TEST(ChatRequest, ShorthandsAreReadAsTheirLongForms) {
  const ChatRequest r = parsed(Json::parse(R"({
    "messages": [{"role": "developer", "content": [{"type": "text", "text": "Rules."}]},
                 {"role": "user", "content": "x"},
                 {"role": "assistant", "content": null,
                  "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}],
    "stop": "END", "max_completion_tokens": 9, "tool_choice": "required",
    "tools": [{"type": "function", "function": {"name": "f"}}]})"));
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[0].text(), "Rules.");
  EXPECT_TRUE(r.messages[2].content.empty());
  EXPECT_EQ(r.messages[2].tool_calls[0].arguments, "{\"a\":1}");
  EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(r.max_tokens, 9);
  EXPECT_EQ(r.tool_choice.mode, ToolChoice::Mode::kRequired);
  EXPECT_EQ(r.sampling.temperature, std::nullopt);  // unset stays unset: the server's default applies
}

TEST(ChatRequest, RefusalsNameTheChatField) {
  auto with = [](const char* k, Json v) {
    Json b = {{"messages", Json::array({Json{{"role", "user"}, {"content", "x"}}})}};
    b[k] = std::move(v);
    return refusal(b);
  };
  auto message = [](Json m) { return refusal({{"messages", Json::array({std::move(m)})}}); };
  EXPECT_EQ(refusal(Json::array()).status, 400);
  EXPECT_EQ(refusal(Json::object()).param, "messages");
  for (const auto& [k, v] :
       std::vector<std::pair<const char*, Json>>{{"model", 5},
                                                 {"n", 2},
                                                 {"temperature", 3},
                                                 {"top_p", "high"},
                                                 {"min_p", -1},
                                                 {"presence_penalty", 9},
                                                 {"repetition_penalty", 0},
                                                 {"top_k", 1.5},
                                                 {"seed", "s"},
                                                 {"logit_bias", {{"x", 1}}},
                                                 {"logit_bias", Json::array()},
                                                 {"max_tokens", -1},
                                                 {"max_completion_tokens", "9"},
                                                 {"stream", "yes"},
                                                 {"stop", 5},
                                                 {"stop", Json::array({1})},
                                                 {"logprobs", 1},
                                                 {"user", 7},
                                                 {"ignore_eos", "true"},
                                                 {"loop_guard", 0},
                                                 {"restore_reasoning", "no"},
                                                 {"thinking_budget", -1},
                                                 {"thinking_budget", "5"},
                                                 {"preset", 3},
                                                 {"tools", Json::object()},
                                                 {"tools", Json::array({Json{{"type", "function"}}})},
                                                 {"tool_choice", "sometimes"},
                                                 {"tool_choice", {{"type", "function"}}},
                                                 {"parallel_tool_calls", "no"},
                                                 {"response_format", {{"type", "xml"}}},
                                                 {"response_format", {{"type", "json_schema"}}},
                                                 {"chat_template_kwargs", "on"},
                                                 {"reasoning_effort", 3}})
    EXPECT_EQ(with(k, v).param, k) << k << " = " << v.dump();
  Json lp = {{"messages", Json::array({Json{{"role", "user"}, {"content", "x"}}})}, {"logprobs", true}};
  lp["top_logprobs"] = 30;
  EXPECT_EQ(refusal(lp).param, "top_logprobs");
  EXPECT_EQ(message({{"content", "x"}}).param, "messages");
  EXPECT_EQ(message({{"role", "robot"}, {"content", "x"}}).param, "messages");
  EXPECT_EQ(message({{"role", "user"}, {"content", 5}}).param, "messages");
  EXPECT_EQ(message({{"role", "user"}, {"content", Json::array({Json{{"type", "input_audio"}}})}}).param, "messages");
  EXPECT_EQ(message({{"role", "user"}, {"content", Json::array({Json{{"type", "text"}, {"text", 5}}})}}).param,
            "messages");
  EXPECT_EQ(message({{"role", "assistant"}, {"tool_calls", "f()"}}).param, "messages");
  EXPECT_EQ(message({{"role", "assistant"}, {"reasoning_content", 1}}).param, "messages");
}

// The Anthropic body a whole chat request becomes, written out by hand from the Messages API's
// reference: system text lifted out, tool results in one user turn with the text after them,
// arguments as input objects, images as base64 or URL sources.
TEST(ChatRequest, WholeChatRequestAsAnthropicBody) {
  const ChatRequest r = parsed(Json::parse(R"({
    "model": "qwen", "max_tokens": 3000, "temperature": 0.5, "top_p": 0.9, "top_k": 40, "stop": "END",
    "stream": true, "user": "u-7", "chat_template_kwargs": {"enable_thinking": true}, "thinking_budget": 2000,
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Look: "},
                                   {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                                   {"type": "image_url", "image_url": {"url": "https://example.com/b.jpg"}}]},
      {"role": "assistant", "content": "Checking.", "reasoning_content": "dropped: not signed",
       "tool_calls": [{"id": "c1", "type": "function",
                       "function": {"name": "get_weather", "arguments": "{\"city\":\"Seoul\"}"}},
                      {"id": "c2", "type": "function", "function": {"name": "now", "arguments": "{}"}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "12 C"},
      {"role": "tool", "tool_call_id": "c2", "content": "09:00"},
      {"role": "user", "content": "And tomorrow?"}],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
              {"type": "function", "function": {"name": "now"}}],
    "tool_choice": "required", "parallel_tool_calls": false})"));
  Json got;
  ASSERT_FALSE(anthropic_body(r, "claude-x", 4096, &got));
  const Json want = Json::parse(R"({
    "model": "claude-x", "system": "Be brief.", "max_tokens": 3000,
    "temperature": 0.5, "top_p": 0.9, "top_k": 40, "stop_sequences": ["END"], "stream": true,
    "messages": [
      {"role": "user", "content": [
        {"type": "text", "text": "Look: "},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/b.jpg"}}]},
      {"role": "assistant", "content": [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "c1", "name": "get_weather", "input": {"city": "Seoul"}},
        {"type": "tool_use", "id": "c2", "name": "now", "input": {}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "c1", "content": "12 C"},
        {"type": "tool_result", "tool_use_id": "c2", "content": "09:00"},
        {"type": "text", "text": "And tomorrow?"}]}],
    "tools": [{"name": "get_weather", "description": "Weather now",
               "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
              {"name": "now", "input_schema": {"type": "object"}}],
    "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
    "thinking": {"type": "enabled", "budget_tokens": 2000},
    "metadata": {"user_id": "u-7"}
  })");
  EXPECT_EQ(unordered(got), unordered(want));
  // Anthropic's thinking needs 1,024 <= budget < max_tokens: below that it is left off. Without a
  // max_tokens the default stands in (Anthropic requires one). Arguments that are not JSON cannot
  // become an input object.
  ChatRequest tight = r;
  tight.max_tokens = 1000;
  ASSERT_FALSE(anthropic_body(tight, "", 4096, &got));
  EXPECT_FALSE(got.contains("thinking"));
  ChatRequest short_one = parsed(Json::parse(R"({"messages": [{"role": "user", "content": "x"}]})"));
  ASSERT_FALSE(anthropic_body(short_one, "", 4096, &got));
  EXPECT_EQ(got["max_tokens"], 4096);
  EXPECT_FALSE(got.contains("thinking"));
  ChatRequest bad = r;
  bad.messages[2].tool_calls[0].arguments = "{not json";
  EXPECT_TRUE(anthropic_body(bad, "", 4096, &got).has_value());
}

// The chat body a whole Responses request becomes, written out by hand: instructions as the system
// message, reasoning items joined to the assistant turn after them, calls and outputs as tool
// calls and tool messages, namespace tools flattened (hosted ones dropped), text.format as
// response_format, reasoning.effort as the thinking budget.
TEST(ChatRequest, WholeResponsesRequestAsChatBody) {
  const Json body = Json::parse(R"({
    "model": "qwen", "instructions": "Be brief.", "max_output_tokens": 200, "temperature": 0.2, "stream": true,
    "input": [
      {"role": "developer", "content": "Use tools."},
      {"role": "user", "content": [{"type": "input_text", "text": "Files?"},
                                   {"type": "input_image", "image_url": "https://example.com/c.png"}]},
      {"type": "reasoning", "summary": [{"type": "summary_text", "text": "List them."}]},
      {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{\"cmd\":\"ls\"}"},
      {"type": "function_call_output", "call_id": "c1", "output": "a.txt"},
      {"role": "assistant", "content": [{"type": "output_text", "text": "One file."}]},
      {"role": "user", "content": "Thanks."}],
    "tools": [{"type": "function", "name": "shell", "description": "Run",
               "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}},
              {"type": "namespace", "name": "files", "tools": [{"type": "function", "name": "read"}]},
              {"type": "web_search"}],
    "tool_choice": "auto", "text": {"format": {"type": "json_object"}}, "reasoning": {"effort": "medium"}})");
  ChatRequest r;
  Json namespaces;
  ASSERT_FALSE(parse_responses(body, &r, &namespaces));
  EXPECT_EQ(namespaces, Json({{"read", "files"}}));
  const Json want = Json::parse(R"({
    "model": "qwen", "max_tokens": 200, "temperature": 0.2, "stream": true,
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "system", "content": "Use tools."},
      {"role": "user", "content": [{"type": "text", "text": "Files?"},
                                   {"type": "image_url", "image_url": {"url": "https://example.com/c.png"}}]},
      {"role": "assistant", "content": "", "reasoning_content": "List them.",
       "tool_calls": [{"id": "c1", "type": "function",
                       "function": {"name": "shell", "arguments": "{\"cmd\":\"ls\"}"}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "a.txt"},
      {"role": "assistant", "content": "One file."},
      {"role": "user", "content": "Thanks."}],
    "tools": [{"type": "function", "function": {"name": "shell", "description": "Run",
               "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}},
              {"type": "function", "function": {"name": "read", "parameters": {"type": "object"}}}],
    "tool_choice": "auto", "response_format": {"type": "json_object"},
    "thinking_budget": 4096, "chat_template_kwargs": {"enable_thinking": true}
  })");
  EXPECT_EQ(unordered(chat_body(r)), unordered(want));
  // Effort none turns thinking off; stored conversations and unknown efforts are refused.
  Json off = body;
  off["reasoning"] = {{"effort", "none"}};
  ASSERT_FALSE(parse_responses(off, &r, &namespaces));
  EXPECT_EQ(r.thinking.enabled, false);
  for (const auto& [k, v] : std::vector<std::pair<const char*, Json>>{{"previous_response_id", "resp_1"},
                                                                      {"input", 5},
                                                                      {"instructions", 5},
                                                                      {"max_output_tokens", -1},
                                                                      {"reasoning", {{"effort", "extreme"}}},
                                                                      {"stream", "yes"},
                                                                      {"tools", "shell"}}) {
    Json b = body;
    b[k] = v;
    const auto e = parse_responses(b, &r, &namespaces);
    ASSERT_TRUE(e) << k;
    EXPECT_EQ(e->param, std::string(k) == "reasoning" ? "reasoning" : k);
  }
}
