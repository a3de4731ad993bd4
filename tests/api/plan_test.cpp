// Request planning without HTTP: a chat body becomes the prompt the template renders (derived
// here independently, from chat::render_chat and the tokenizer), the output constraints its
// tool_choice / response_format ask for, the thinking flags, and refusals that name the field.
#include <gtest/gtest.h>

#include "api/openai.h"
#include "protocol/anthropic_request.h"
#include "protocol/openai_request.h"
#include "protocol/responses_request.h"
#include "chat/template.h"
#include "gguf/file.h"

namespace onprem::api {
namespace {

using chat::Json;

const std::string kModel = std::string(ONPREM_SHARED_DIR) + "/conformance/models/qwen35-tiny-F32.gguf";

// One model, tokenizer, engine and service for every test (the engine never runs here).
struct World {
  model::Model model = *model::load_model(kModel);
  text::Tokenizer tok = *text::Tokenizer::create(*text::load_vocab(*model.file));
  engine::Engine engine{model, [] {
                          engine::EngineOptions o;
                          o.parallel = 1, o.ctx_size = 256, o.threads = 1;
                          return o;
                        }()};
  Service svc{model, tok, engine, ServiceOptions{}};
};
World& world() {
  static World w;
  return w;
}

const Json kTools = Json::parse(R"([{"type": "function", "function": {"name": "get_weather",
  "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])");

Json conversation() {
  return Json::parse(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Seoul?"},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function",
      "function": {"name": "get_weather", "arguments": "{\"city\": \"Seoul\"}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "12 C"},
    {"role": "user", "content": "And tomorrow?"}])");
}

// An OpenAI chat body, parsed and planned as the server does.
std::optional<ApiError> parse_and_plan(const Json& body, ChatPlan* p) {
  protocol::ChatRequest r;
  if (auto e = protocol::parse_openai_chat(body, &r)) return e;
  return plan_chat(world().svc, r, p);
}

ChatPlan plan(const Json& body) {
  ChatPlan p;
  const auto e = parse_and_plan(body, &p);
  EXPECT_FALSE(e) << (e ? e->message : "");
  return p;
}

ApiError refusal(const Json& body) {
  ChatPlan p;
  const auto e = parse_and_plan(body, &p);
  EXPECT_TRUE(e) << "accepted: " << body.dump();
  return e ? *e : ApiError{};
}

std::vector<int32_t> tokens_of(const Json& messages, const Json& tools, chat::RenderOptions ro) {
  ro.system_anywhere = true;
  return world().tok.encode(*chat::render_chat(messages, tools, ro), true);
}

TEST(PlanChat, ThePromptIsTheRenderedConversationAndTheHistoryEndIsMarked) {
  for (const bool thinking : {true, false}) {
    const Json body = {
        {"messages", conversation()}, {"tools", kTools}, {"chat_template_kwargs", {{"enable_thinking", thinking}}}};
    const ChatPlan p = plan(body);
    chat::RenderOptions ro;
    ro.enable_thinking = thinking;
    EXPECT_EQ(p.prompt, tokens_of(conversation(), kTools, ro)) << "thinking " << thinking;
    ro.add_generation_prompt = false;
    const auto history = tokens_of(conversation(), kTools, ro);
    ASSERT_EQ(p.gen.snapshot_at, std::vector<int64_t>{int64_t(history.size())});
    EXPECT_TRUE(std::equal(history.begin(), history.end(), p.prompt.begin()));
    EXPECT_EQ(p.gen.thinking_open, thinking);
  }
}

TEST(PlanChat, DeveloperIsSystemAndDroppedReasoningComesBack) {
  Json dev = conversation();
  dev[0]["role"] = "developer";
  EXPECT_EQ(plan({{"messages", dev}}).prompt, plan({{"messages", conversation()}}).prompt);
  // The server saw this reasoning with that call; the client sends the call back without it.
  const Json msgs = conversation();
  world().svc.reasoning.put(ReasoningStore::key("", msgs[2]["tool_calls"]), "Look it up.");
  Json with = msgs;
  with[2]["reasoning_content"] = "Look it up.";
  chat::RenderOptions ro;
  ro.preserve_thinking = true;
  const Json kw = {{"preserve_thinking", true}};
  ASSERT_NE(tokens_of(with, kTools, ro), tokens_of(msgs, kTools, ro));  // the reasoning is rendered
  EXPECT_EQ(plan({{"messages", msgs}, {"tools", kTools}, {"chat_template_kwargs", kw}}).prompt,
            tokens_of(with, kTools, ro));
  // Opted out, it stays dropped.
  EXPECT_EQ(
      plan({{"messages", msgs}, {"tools", kTools}, {"chat_template_kwargs", kw}, {"restore_reasoning", false}}).prompt,
      tokens_of(msgs, kTools, ro));
}

TEST(PlanChat, ToolChoiceAndResponseFormatDecideTheOutput) {
  auto with = [](Json extra) {
    Json b = {{"messages", conversation()}, {"tools", kTools}};
    for (auto& [k, v] : extra.items()) b[k] = v;
    return b;
  };
  ChatPlan p = plan(with({{"tool_choice", "auto"}}));
  EXPECT_TRUE(p.gen.parse_tools);
  EXPECT_FALSE(p.gen.grammar);
  p = plan(with({{"tool_choice", "none"}}));
  EXPECT_FALSE(p.gen.parse_tools);
  EXPECT_FALSE(p.gen.grammar);
  // Required and named calls are grammars, rendered with thinking off so the call starts at once.
  for (const Json& tc : {Json("required"), Json::parse(R"({"type":"function","function":{"name":"get_weather"}})")}) {
    p = plan(with({{"tool_choice", tc}}));
    EXPECT_TRUE(p.gen.grammar) << tc.dump();
    EXPECT_FALSE(p.gen.thinking_open) << tc.dump();
  }
  p = plan(with({{"response_format", {{"type", "json_object"}}}}));
  EXPECT_TRUE(p.gen.grammar);
  p = plan(
      with({{"response_format", {{"type", "json_schema"}, {"json_schema", {{"schema", {{"type", "integer"}}}}}}}}));
  EXPECT_TRUE(p.gen.grammar);
  EXPECT_EQ(refusal(with({{"tool_choice", "sometimes"}})).param, "tool_choice");
  EXPECT_EQ(refusal(with({{"tool_choice", {{"type", "function"}, {"function", {{"name", "nope"}}}}}})).param,
            "tool_choice");
  EXPECT_EQ(refusal({{"messages", conversation()}, {"tool_choice", "required"}}).param, "tool_choice");
  EXPECT_EQ(refusal(with({{"response_format", {{"type", "xml"}}}})).param, "response_format");
  EXPECT_EQ(refusal(with({{"response_format", {{"type", "json_schema"}, {"json_schema", {{"schema", 3}}}}}})).param,
            "response_format");
}

TEST(PlanChat, LimitsSamplingAndThinkingBudget) {
  Json b = {{"messages", conversation()}, {"max_tokens", 7}, {"stop", {"END", "STOP"}},
            {"temperature", 0},           {"top_k", 5},      {"seed", 9},
            {"thinking_budget", 3},       {"stream", true},  {"stream_options", {{"include_usage", true}}}};
  const ChatPlan p = plan(b);
  EXPECT_EQ(p.max_tokens, 7);
  EXPECT_EQ(p.gen.stop, (std::vector<std::string>{"END", "STOP"}));
  EXPECT_EQ(p.sampling.temperature, 0.0f);
  EXPECT_EQ(p.sampling.top_k, 5);
  EXPECT_EQ(p.sampling.seed, 9u);
  EXPECT_EQ(p.gen.thinking_budget, 3);
  EXPECT_TRUE(p.stream);
  EXPECT_TRUE(p.include_usage);
  EXPECT_EQ(plan({{"messages", conversation()}}).max_tokens, world().svc.opt.default_max_tokens);
}

TEST(PlanChat, RefusalsNameTheField) {
  auto with = [](const char* k, Json v) {
    Json b = {{"messages", conversation()}};
    b[k] = std::move(v);
    return b;
  };
  EXPECT_EQ(refusal(Json::object()).param, "messages");
  EXPECT_EQ(refusal({{"messages", Json::array()}}).param, "messages");
  EXPECT_EQ(refusal(with("max_tokens", -1)).param, "max_tokens");
  EXPECT_EQ(refusal(with("max_completion_tokens", "9")).param, "max_completion_tokens");
  EXPECT_EQ(refusal(with("temperature", 3)).param, "temperature");
  EXPECT_EQ(refusal(with("top_p", "high")).param, "top_p");
  EXPECT_EQ(refusal(with("top_k", 1.5)).param, "top_k");
  EXPECT_EQ(refusal(with("stop", 5)).param, "stop");
  EXPECT_EQ(refusal(with("stream", "yes")).param, "stream");
  EXPECT_EQ(refusal(with("n", 2)).param, "n");
  EXPECT_EQ(refusal(with("thinking_budget", -1)).param, "thinking_budget");
  EXPECT_EQ(refusal(with("thinking_budget", "5")).param, "thinking_budget");
  EXPECT_EQ(refusal(with("logit_bias", {{"99999999", 1}})).param, "logit_bias");
  EXPECT_EQ(refusal(with("preset", "fastest")).param, "preset");
  EXPECT_EQ(refusal(with("tools", Json::array({Json{{"type", "function"}}}))).param, "tools");
  Json lp = with("logprobs", true);
  lp["top_logprobs"] = 30;
  EXPECT_EQ(refusal(lp).param, "top_logprobs");
  const ApiError model = refusal(with("model", "gpt-9"));
  EXPECT_EQ(model.status, 404);
  EXPECT_EQ(model.param, "model");
  // The template's own refusal, as a 400 on messages.
  EXPECT_EQ(refusal({{"messages", Json::array({Json{{"role", "system"}, {"content", "only rules"}}})}}).param,
            "messages");
}

// The same conversation in each API's words is one ChatRequest, and so one prompt: the template
// sees the same messages whichever door the request came in by.
TEST(PlanChat, EveryApiPlansTheSameConversationToTheSamePrompt) {
  const Json openai = {
      {"messages", conversation()}, {"tools", kTools}, {"chat_template_kwargs", {{"enable_thinking", true}}}};
  const ChatPlan want = plan(openai);
  const Json anthropic = Json::parse(R"({"max_tokens": 100, "system": "Be brief.",
    "thinking": {"type": "enabled"},
    "tools": [{"name": "get_weather",
               "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
    "messages": [
      {"role": "user", "content": "Weather in Seoul?"},
      {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "get_weather",
                                         "input": {"city": "Seoul"}}]},
      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1", "content": "12 C"},
                                   {"type": "text", "text": "And tomorrow?"}]}]})");
  const Json responses = Json::parse(R"({"instructions": "Be brief.",
    "tools": [{"type": "function", "name": "get_weather",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
    "input": [
      {"role": "user", "content": "Weather in Seoul?"},
      {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{\"city\": \"Seoul\"}"},
      {"type": "function_call_output", "call_id": "c1", "output": "12 C"},
      {"role": "user", "content": [{"type": "input_text", "text": "And tomorrow?"}]}]})");
  protocol::ChatRequest a, r;
  Json namespaces;
  ASSERT_FALSE(protocol::parse_anthropic(anthropic, {}, &a));
  ASSERT_FALSE(protocol::parse_responses(responses, &r, &namespaces));
  for (const auto* req : {&a, &r}) {
    ChatPlan p;
    const auto e = plan_chat(world().svc, *req, &p);
    ASSERT_FALSE(e) << e->message;
    EXPECT_EQ(p.prompt, want.prompt);
    EXPECT_EQ(p.gen.snapshot_at, want.gen.snapshot_at);
    EXPECT_TRUE(p.gen.parse_tools);
    EXPECT_TRUE(p.gen.thinking_open);
  }
}

}  // namespace
}  // namespace onprem::api
