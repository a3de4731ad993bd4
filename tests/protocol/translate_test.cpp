// Between API shapes: requests keep their meaning, and a stream converted event by event adds up
// to the converted whole response (the streaming invariant).
#include <gtest/gtest.h>

#include "protocol/sse.h"
#include "protocol/translate.h"

#include "api/responses.h"
#include "protocol/json_text.h"

using namespace onprem::protocol;

namespace {

const Json kTools =
    Json::array({{{"type", "function"},
                  {"function",
                   {{"name", "get_weather"},
                    {"description", "w"},
                    {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}}}});

Json openai_conversation() {
  return {
      {"model", "m"},
      {"max_tokens", 300},
      {"temperature", 0.5},
      {"stop", "END"},
      {"tools", kTools},
      {"tool_choice", "required"},
      {"parallel_tool_calls", false},
      {"user", "u7"},
      {"messages",
       Json::array({{{"role", "system"}, {"content", "be brief"}},
                    {{"role", "user"}, {"content", "weather in Seoul and Busan?"}},
                    {{"role", "assistant"},
                     {"content", ""},
                     {"tool_calls",
                      Json::array({{{"id", "c1"},
                                    {"type", "function"},
                                    {"function", {{"name", "get_weather"}, {"arguments", "{\"city\":\"Seoul\"}"}}}},
                                   {{"id", "c2"},
                                    {"type", "function"},
                                    {"function", {{"name", "get_weather"}, {"arguments", "{\"city\":\"Busan\"}"}}}}})}},
                    {{"role", "tool"}, {"tool_call_id", "c1"}, {"content", "18 C"}},
                    {{"role", "tool"}, {"tool_call_id", "c2"}, {"content", "21 C"}},
                    {{"role", "user"}, {"content", Json::array({{{"type", "text"}, {"text", "thanks"}}})}}})}};
}

}  // namespace

TEST(Translate, OpenAIRequestToAnthropicAndBack) {
  Json a;
  ASSERT_FALSE(openai_to_anthropic_request(openai_conversation(), "claude", 4096, &a));
  EXPECT_EQ(a["model"], "claude");
  EXPECT_EQ(a["system"], "be brief");
  EXPECT_EQ(a["max_tokens"], 300);
  EXPECT_EQ(a["stop_sequences"], Json::array({"END"}));
  EXPECT_EQ(a["tool_choice"]["type"], "any");
  EXPECT_EQ(a["tool_choice"]["disable_parallel_tool_use"], true);
  EXPECT_EQ(a["tools"][0]["input_schema"]["properties"]["city"]["type"], "string");
  EXPECT_EQ(a["metadata"]["user_id"], "u7");
  // Roles alternate: both tool results travel in one user turn, the follow-up text joins it.
  ASSERT_EQ(a["messages"].size(), 3u);
  EXPECT_EQ(a["messages"][1]["content"][1]["input"]["city"], "Busan");
  EXPECT_EQ(a["messages"][2]["role"], "user");
  EXPECT_EQ(a["messages"][2]["content"][1]["tool_use_id"], "c2");
  EXPECT_EQ(a["messages"][2]["content"][2]["text"], "thanks");
  // And back to OpenAI: the same calls, results and tools.
  Json o;
  ASSERT_FALSE(anthropic_to_openai_request(a, "", &o));
  EXPECT_EQ(o["messages"][0]["content"], "be brief");
  EXPECT_EQ(Json::parse(o["messages"][2]["tool_calls"][1]["function"]["arguments"].get<std::string>())["city"],
            "Busan");
  EXPECT_EQ(o["messages"][3]["role"], "tool");
  EXPECT_EQ(o["messages"][4]["tool_call_id"], "c2");
  EXPECT_EQ(o["tool_choice"], "required");
  EXPECT_EQ(o["parallel_tool_calls"], false);
  EXPECT_EQ(o["tools"][0]["function"]["parameters"], kTools[0]["function"]["parameters"]);
  Json bad = openai_conversation();
  bad["messages"][2]["tool_calls"][0]["function"]["arguments"] = "{not json";
  EXPECT_TRUE(openai_to_anthropic_request(bad, "", 10, &a).has_value());
}

TEST(Translate, ThinkingOnlyWhenAsked) {
  Json a, in = {{"messages", Json::array({{{"role", "user"}, {"content", "x"}}})}, {"max_tokens", 5000}};
  ASSERT_FALSE(openai_to_anthropic_request(in, "", 4096, &a));
  EXPECT_FALSE(a.contains("thinking"));
  in["chat_template_kwargs"] = {{"enable_thinking", true}};
  ASSERT_FALSE(openai_to_anthropic_request(in, "", 4096, &a));
  EXPECT_EQ(a["thinking"]["type"], "enabled");
  EXPECT_LT(a["thinking"]["budget_tokens"].get<int64_t>(), 5000);
}

TEST(Translate, ClaudeCodeShapesToOpenAI) {
  // Mid-conversation system messages stay in place; adaptive thinking is thinking on with the
  // budget of its effort; an unknown thinking type is refused.
  Json in = {
      {"max_tokens", 64},
      {"thinking", {{"type", "adaptive"}}},
      {"output_config", {{"effort", "medium"}}},
      {"messages", Json::array({{{"role", "user"}, {"content", "a"}},
                                {{"role", "system"}, {"content", Json::array({{{"type", "text"}, {"text", "note"}}})}},
                                {{"role", "user"}, {"content", "b"}}})}};
  Json o;
  ASSERT_FALSE(anthropic_to_openai_request(in, "", &o));
  EXPECT_EQ(o["messages"][1]["role"], "system");
  EXPECT_EQ(o["messages"][1]["content"], "note");
  EXPECT_EQ(o["chat_template_kwargs"]["enable_thinking"], true);
  EXPECT_EQ(o["thinking_budget"], 4096);
  in["thinking"] = {{"type", "bogus"}};
  auto e = anthropic_to_openai_request(in, "", &o);
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->find("'bogus'"), std::string::npos) << *e;
}

// Whole responses both ways, field by field, against bodies written out by hand from the two APIs'
// references: content blocks and message parts, tool calls, stop reasons and usage with the cache.
TEST(Translate, WholeResponsesFieldByField) {
  const Json message = Json::parse(R"({
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
    "content": [{"type": "thinking", "thinking": "Look it up.", "signature": "s"},
                {"type": "text", "text": "Checking "}, {"type": "text", "text": "now."},
                {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Seoul"}}],
    "stop_reason": "tool_use", "stop_sequence": null,
    "usage": {"input_tokens": 4, "cache_read_input_tokens": 6, "cache_creation_input_tokens": 2,
              "output_tokens": 9}})");
  Usage u;
  Json chat = anthropic_to_openai_response(message, "m", &u);
  chat.erase("created");  // the time of the call
  EXPECT_EQ(chat, Json::parse(R"({
    "id": "chatcmpl-msg_1", "object": "chat.completion", "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Checking now.",
      "reasoning_content": "Look it up.",
      "tool_calls": [{"id": "t1", "type": "function",
                      "function": {"name": "get_weather", "arguments": "{\"city\":\"Seoul\"}"}}]},
      "logprobs": null, "finish_reason": "tool_calls"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21,
              "prompt_tokens_details": {"cached_tokens": 6}}})"));
  EXPECT_EQ(u.input, 12);  // every prompt token, cached or not, as the ledger records them
  EXPECT_EQ(u.output, 9);

  const Json completion = Json::parse(R"({
    "id": "cmpl_2", "object": "chat.completion", "created": 1, "model": "qwen",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Done.", "reasoning_content": "ok",
      "tool_calls": [{"id": "c9", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}}]},
      "finish_reason": "length"}],
    "usage": {"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35,
              "prompt_tokens_details": {"cached_tokens": 20}}})");
  EXPECT_EQ(openai_to_anthropic_response(completion, "", &u), Json::parse(R"({
    "id": "msg_cmpl_2", "type": "message", "role": "assistant", "model": "qwen",
    "content": [{"type": "thinking", "thinking": "ok", "signature": ""}, {"type": "text", "text": "Done."},
                {"type": "tool_use", "id": "c9", "name": "f", "input": {"a": 1}}],
    "stop_reason": "max_tokens", "stop_sequence": null,
    "usage": {"input_tokens": 10, "cache_read_input_tokens": 20, "cache_creation_input_tokens": 0,
              "output_tokens": 5}})"));
  // Each finish reason, and a refusal.
  for (auto [finish, stop] : {std::pair{"stop", "end_turn"}, std::pair{"tool_calls", "tool_use"},
                              std::pair{"length", "max_tokens"}, std::pair{"content_filter", "refusal"}}) {
    Json c = completion;
    c["choices"][0]["finish_reason"] = finish;
    EXPECT_EQ(openai_to_anthropic_response(c, "", &u)["stop_reason"], stop) << finish;
    Json m = message;
    m["stop_reason"] = stop;
    EXPECT_EQ(anthropic_to_openai_response(m, "", &u)["choices"][0]["finish_reason"], finish) << stop;
  }
}

TEST(Translate, ChatChunksBecomeResponsesEventsThatAddUpToTheWholeResponse) {
  // What a backend streams (reasoning, text, a tool call, the finish, usage) against the
  // buffered translation of the same completion.
  const std::vector<Json> chunks = {
      {{"model", "m"}, {"choices", Json::array({{{"delta", {{"role", "assistant"}, {"content", ""}}}}})}},
      {{"choices", Json::array({{{"delta", {{"reasoning_content", "think"}}}}})}},
      {{"choices", Json::array({{{"delta", {{"content", "Hi "}}}}})}},
      {{"choices", Json::array({{{"delta", {{"content", "there"}}}}})}},
      {{"choices",
        Json::array({{{"delta",
                       {{"tool_calls", Json::array({{{"index", 0},
                                                     {"id", "call_1"},
                                                     {"type", "function"},
                                                     {"function", {{"name", "f"}, {"arguments", ""}}}}})}}}}})}},
      {{"choices", Json::array({{{"delta",
                                  {{"tool_calls",
                                    Json::array({{{"index", 0}, {"function", {{"arguments", "{\"a\": 1}"}}}}})}}}}})}},
      {{"choices", Json::array({{{"delta", Json::object()}, {"finish_reason", "tool_calls"}}})}},
      {{"choices", Json::array()}, {"usage", {{"prompt_tokens", 7}, {"completion_tokens", 5}}}}};
  onprem::api::ChatChunksToResponses c;
  c.stream.id = "resp_1", c.stream.created = 1;
  std::string sse;
  for (const auto& ch : chunks) sse += c.on_chunk(ch);
  sse += c.on_end();
  std::vector<std::string> types;
  Json last;
  for (size_t at = 0; (at = sse.find("data: ", at)) != std::string::npos;) {
    const size_t end = sse.find("\n", at);
    last = Json::parse(sse.substr(at + 6, end - at - 6));
    EXPECT_EQ(last["sequence_number"], int64_t(types.size()));
    types.push_back(last["type"]);
    at = end;
  }
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.front(), "response.created");
  EXPECT_EQ(types.back(), "response.completed");
  for (const char* t :
       {"response.reasoning_summary_text.delta", "response.output_text.delta", "response.output_text.done",
        "response.function_call_arguments.delta", "response.function_call_arguments.done"})
    EXPECT_NE(std::find(types.begin(), types.end(), t), types.end()) << t;
  const Json& streamed = last["response"];
  Json whole_chat = {
      {"model", "m"},
      {"usage", {{"prompt_tokens", 7}, {"completion_tokens", 5}}},
      {"choices",
       Json::array(
           {{{"finish_reason", "tool_calls"},
             {"message",
              {{"role", "assistant"},
               {"content", "Hi there"},
               {"reasoning_content", "think"},
               {"tool_calls", Json::array({{{"id", "call_1"},
                                            {"type", "function"},
                                            {"function", {{"name", "f"}, {"arguments", "{\"a\": 1}"}}}}})}}}}})}};
  const Json whole = onprem::api::chat_completion_to_response(whole_chat, "resp_1", 1, Json::object());
  EXPECT_EQ(streamed["output"], whole["output"]);
  EXPECT_EQ(streamed["usage"], whole["usage"]);
  EXPECT_EQ(whole["output"][2]["arguments"], "{\"a\": 1}");
  EXPECT_EQ(whole["status"], "completed");
  EXPECT_FALSE(whole["output"][2].contains("namespace"));
  const Json named = onprem::api::chat_completion_to_response(whole_chat, "resp_1", 1, {{"f", "ns"}});
  EXPECT_EQ(named["output"][2]["namespace"], "ns");  // a flattened namespace tool's call says where it came from
}

TEST(Translate, AnthropicStreamAddsUpToTheWholeResponse) {
  const Json whole = {
      {"id", "m1"},
      {"type", "message"},
      {"model", "c"},
      {"stop_reason", "tool_use"},
      {"content",
       Json::array({{{"type", "thinking"}, {"thinking", "let me see"}},
                    {{"type", "text"}, {"text", "Checking."}},
                    {{"type", "tool_use"}, {"id", "t1"}, {"name", "get_weather"}, {"input", {{"city", "Seoul"}}}}})},
      {"usage", {{"input_tokens", 11}, {"output_tokens", 7}}}};
  std::string sse;
  sse += sse_event("message_start",
                   {{"type", "message_start"},
                    {"message", {{"id", "m1"}, {"usage", {{"input_tokens", 11}, {"output_tokens", 1}}}}}});
  sse += sse_event("content_block_start", {{"index", 0}, {"content_block", {{"type", "thinking"}, {"thinking", ""}}}});
  sse += sse_event("content_block_delta",
                   {{"index", 0}, {"delta", {{"type", "thinking_delta"}, {"thinking", "let me "}}}});
  sse += sse_event("content_block_delta", {{"index", 0}, {"delta", {{"type", "thinking_delta"}, {"thinking", "see"}}}});
  sse += sse_event("ping", {{"type", "ping"}});
  sse += sse_event("content_block_start", {{"index", 1}, {"content_block", {{"type", "text"}, {"text", ""}}}});
  sse += sse_event("content_block_delta", {{"index", 1}, {"delta", {{"type", "text_delta"}, {"text", "Check"}}}});
  sse += sse_event("content_block_delta", {{"index", 1}, {"delta", {{"type", "text_delta"}, {"text", "ing."}}}});
  sse += sse_event(
      "content_block_start",
      {{"index", 2},
       {"content_block", {{"type", "tool_use"}, {"id", "t1"}, {"name", "get_weather"}, {"input", Json::object()}}}});
  sse += sse_event("content_block_delta",
                   {{"index", 2}, {"delta", {{"type", "input_json_delta"}, {"partial_json", "{\"city\": "}}}});
  sse += sse_event("content_block_delta",
                   {{"index", 2}, {"delta", {{"type", "input_json_delta"}, {"partial_json", "\"Seoul\"}"}}}});
  sse += sse_event("message_delta", {{"delta", {{"stop_reason", "tool_use"}}}, {"usage", {{"output_tokens", 7}}}});
  sse += sse_event("message_stop", {{"type", "message_stop"}});

  Usage wu;
  const Json expect = anthropic_to_openai_response(whole, "c", &wu);
  // Convert the stream fed one byte at a time, then accumulate the OpenAI chunks.
  AnthropicToOpenAIStream conv;
  conv.include_usage = true;
  SseSplitter in, out;
  std::string content, reasoning, args, name, finish;
  Json usage;
  bool done = false;
  for (char ch : sse)
    in.feed(std::string_view(&ch, 1), [&](const SseEvent& e) {
      out.feed(conv.on_event(e.name, Json::parse(e.data)), [&](const SseEvent& o) {
        if (o.data == "[DONE]") return void(done = true);
        const Json c = Json::parse(o.data);
        if (c.contains("usage")) usage = c["usage"];
        if (c["choices"].empty()) return;
        const Json& d = c["choices"][0]["delta"];
        content += d.value("content", "");
        reasoning += d.value("reasoning_content", "");
        if (d.contains("tool_calls")) {
          const Json& f = d["tool_calls"][0]["function"];
          if (f.contains("name")) name = f["name"];
          args += f.value("arguments", "");
        }
        if (c["choices"][0]["finish_reason"].is_string()) finish = c["choices"][0]["finish_reason"];
      });
    });
  const Json& m = expect["choices"][0]["message"];
  EXPECT_TRUE(done);
  EXPECT_EQ(content, m["content"]);
  EXPECT_EQ(reasoning, m["reasoning_content"]);
  EXPECT_EQ(name, m["tool_calls"][0]["function"]["name"]);
  EXPECT_EQ(Json::parse(args), Json::parse(m["tool_calls"][0]["function"]["arguments"].get<std::string>()));
  EXPECT_EQ(finish, expect["choices"][0]["finish_reason"]);
  EXPECT_EQ(usage["prompt_tokens"], 11);
  EXPECT_EQ(usage["completion_tokens"], 7);
}

TEST(Translate, OpenAIStreamAddsUpToTheWholeAnthropicMessage) {
  auto chunk = [](const Json& delta, const Json& finish) {
    return sse_data(
        {{"id", "x"}, {"choices", Json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}});
  };
  std::string sse = chunk({{"role", "assistant"}, {"content", ""}}, nullptr);
  sse += chunk({{"reasoning_content", "hmm"}}, nullptr);
  sse += chunk({{"content", "Hi "}}, nullptr);
  sse += chunk({{"content", "there"}}, nullptr);
  sse += chunk({{"tool_calls",
                 Json::array({{{"index", 0}, {"id", "a"}, {"function", {{"name", "f"}, {"arguments", "{\"x\""}}}}})}},
               nullptr);
  sse += chunk({{"tool_calls", Json::array({{{"index", 0}, {"function", {{"arguments", ":1}"}}}}})}}, nullptr);
  sse += chunk(
      {{"tool_calls", Json::array({{{"index", 1}, {"id", "b"}, {"function", {{"name", "g"}, {"arguments", "{}"}}}}})}},
      nullptr);
  sse += chunk(Json::object(), "tool_calls");
  sse +=
      sse_data({{"id", "x"}, {"choices", Json::array()}, {"usage", {{"prompt_tokens", 3}, {"completion_tokens", 9}}}});
  sse += "data: [DONE]\n\n";
  OpenAIToAnthropicStream conv;
  SseSplitter in, out;
  std::vector<std::string> names;
  Json blocks = Json::array();
  std::string stop;
  int64_t out_tokens = -1;
  for (char ch : sse)
    in.feed(std::string_view(&ch, 1), [&](const SseEvent& e) {
      out.feed(conv.on_data(e.data), [&](const SseEvent& o) {
        names.push_back(o.name);
        const Json d = Json::parse(o.data);
        if (o.name == "content_block_start") blocks.push_back(d["content_block"]);
        if (o.name == "content_block_delta") {
          Json& b = blocks[d["index"].get<size_t>()];
          const Json& dd = d["delta"];
          if (dd["type"] == "text_delta") b["text"] = b["text"].get<std::string>() + dd["text"].get<std::string>();
          if (dd["type"] == "thinking_delta")
            b["thinking"] = b["thinking"].get<std::string>() + dd["thinking"].get<std::string>();
          if (dd["type"] == "input_json_delta")
            b["partial"] = b.value("partial", "") + dd["partial_json"].get<std::string>();
        }
        if (o.name == "message_delta") stop = d["delta"]["stop_reason"], out_tokens = d["usage"]["output_tokens"];
      });
    });
  EXPECT_EQ(names.front(), "message_start");
  EXPECT_EQ(names.back(), "message_stop");
  ASSERT_EQ(blocks.size(), 4u);
  EXPECT_EQ(blocks[0]["thinking"], "hmm");
  EXPECT_EQ(blocks[1]["text"], "Hi there");
  EXPECT_EQ(Json::parse(blocks[2]["partial"].get<std::string>())["x"], 1);
  EXPECT_EQ(blocks[3]["name"], "g");
  EXPECT_EQ(stop, "tool_use");
  EXPECT_EQ(out_tokens, 9);
  // Every block opened is closed before the message ends.
  EXPECT_EQ(std::count(names.begin(), names.end(), "content_block_start"),
            std::count(names.begin(), names.end(), "content_block_stop"));
}

TEST(Sse, SplittingDoesNotDependOnChunkBoundaries) {
  const std::string s = "event: a\ndata: 1\n\n: comment\n\ndata: x\ndata: y\r\n\r\nevent: b\ndata:z\n\n";
  std::vector<std::pair<std::string, std::string>> whole, bytes;
  SseSplitter w, b;
  w.feed(s, [&](const SseEvent& e) { whole.push_back({e.name, e.data}); });
  for (char c : s) b.feed(std::string_view(&c, 1), [&](const SseEvent& e) { bytes.push_back({e.name, e.data}); });
  EXPECT_EQ(whole, bytes);
  ASSERT_EQ(whole.size(), 4u);
  EXPECT_EQ(whole[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(whole[2].second, "x\ny");
  EXPECT_EQ(whole[3], (std::pair<std::string, std::string>{"b", "z"}));
  EXPECT_EQ(b.pending(), 0u);
}
