#include "protocol/translate.h"

#include <chrono>

#include "protocol/anthropic_body.h"
#include "protocol/anthropic_request.h"
#include "protocol/chat_body.h"
#include "protocol/json_text.h"
#include "protocol/openai_request.h"
#include "protocol/stop_reason.h"
#include "protocol/usage.h"

namespace onprem::protocol {

std::optional<std::string> openai_to_anthropic_request(const Json& in, const std::string& model,
                                                       int64_t default_max_tokens, Json* out) {
  ChatRequest r;
  if (auto e = parse_openai_chat(in, &r)) return e->message;
  return anthropic_body(r, model, default_max_tokens, out);
}

Json anthropic_to_openai_response(const Json& msg, const std::string& model, Usage* usage) {
  std::string text, reasoning;
  Json calls = Json::array();
  if (msg.contains("content") && msg["content"].is_array())
    for (const auto& b : msg["content"]) {
      const std::string type = string_field(b, "type");
      if (type == "text")
        text += string_field(b, "text");
      else if (type == "thinking")
        reasoning += string_field(b, "thinking");
      else if (type == "tool_use")
        calls.push_back({{"id", string_field(b, "id")},
                         {"type", "function"},
                         {"function",
                          {{"name", string_field(b, "name")},
                           {"arguments", json_text(b.contains("input") ? b["input"] : Json::object())}}}});
    }
  Json message = {{"role", "assistant"}, {"content", text}};
  if (!reasoning.empty()) message["reasoning_content"] = reasoning;
  if (!calls.empty()) message["tool_calls"] = calls;
  const Json u = msg.contains("usage") && msg["usage"].is_object() ? msg["usage"] : Json::object();
  usage->set(usage_from_anthropic(u));
  return {
      {"id", "chatcmpl-" + string_field(msg, "id")},
      {"object", "chat.completion"},
      {"created",
       std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count()},
      {"model", model.empty() ? string_field(msg, "model") : model},
      {"choices", Json::array({{{"index", 0},
                                {"message", message},
                                {"logprobs", nullptr},
                                {"finish_reason", reason_from_anthropic(string_field(msg, "stop_reason"))}}})},
      {"usage", openai_usage(usage->tokens())}};
}

std::optional<std::string> anthropic_to_openai_request(const Json& in, const std::string& model, Json* out) {
  ChatRequest r;
  if (auto e = parse_anthropic(in, {}, &r)) return e->message;
  if (!model.empty()) r.model = model;
  r.include_usage = r.stream;  // the ledger reads the stream's usage, which comes only when asked for
  *out = chat_body(r, {.onprem_extensions = false});
  return std::nullopt;
}

Json openai_to_anthropic_response(const Json& chat, const std::string& model, Usage* usage) {
  const Json choice = chat.contains("choices") && chat["choices"].is_array() && !chat["choices"].empty()
                          ? chat["choices"][0]
                          : Json::object();
  const Json msg = choice.contains("message") ? choice["message"] : Json::object();
  Json content = Json::array();
  if (!string_field(msg, "reasoning_content").empty())
    content.push_back({{"type", "thinking"}, {"thinking", string_field(msg, "reasoning_content")}, {"signature", ""}});
  if (!string_field(msg, "content").empty())
    content.push_back({{"type", "text"}, {"text", string_field(msg, "content")}});
  if (msg.contains("tool_calls") && msg["tool_calls"].is_array())
    for (const auto& tc : msg["tool_calls"]) {
      const Json fn = tc.contains("function") ? tc["function"] : Json::object();
      Json input = Json::object();
      try {
        input = Json::parse(string_field(fn, "arguments"));
      } catch (const std::exception&) {
      }
      content.push_back(
          {{"type", "tool_use"}, {"id", string_field(tc, "id")}, {"name", string_field(fn, "name")}, {"input", input}});
    }
  const Json u = chat.contains("usage") && chat["usage"].is_object() ? chat["usage"] : Json::object();
  usage->set(usage_from_openai(u));
  return {{"id", "msg_" + string_field(chat, "id")},
          {"type", "message"},
          {"role", "assistant"},
          {"model", model.empty() ? string_field(chat, "model") : model},
          {"content", content},
          {"stop_reason", anthropic_stop_reason(string_field(choice, "finish_reason"))},
          {"stop_sequence", nullptr},
          {"usage", anthropic_usage(usage->tokens())}};
}

std::string AnthropicToOpenAIStream::on_event(const std::string& name, const Json& data) {
  auto chunk = [&](const Json& delta, const Json& finish) {
    return sse_data(
        {{"id", id},
         {"object", "chat.completion.chunk"},
         {"created", created},
         {"model", model},
         {"choices",
          Json::array({{{"index", 0}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", finish}}})}});
  };
  if (name == "message_start") {
    const Json u =
        data.contains("message") && data["message"].contains("usage") ? data["message"]["usage"] : Json::object();
    usage.set(usage_from_anthropic(u));
    return chunk({{"role", "assistant"}, {"content", ""}}, nullptr);
  }
  if (name == "content_block_start") {
    const Json b = data.contains("content_block") ? data["content_block"] : Json::object();
    if (string_field(b, "type") != "tool_use") return "";
    ++tool_index;
    return chunk(
        {{"tool_calls", Json::array({{{"index", tool_index},
                                      {"id", string_field(b, "id")},
                                      {"type", "function"},
                                      {"function", {{"name", string_field(b, "name")}, {"arguments", ""}}}}})}},
        nullptr);
  }
  if (name == "content_block_delta") {
    const Json d = data.contains("delta") ? data["delta"] : Json::object();
    const std::string t = string_field(d, "type");
    if (t == "text_delta") return chunk({{"content", string_field(d, "text")}}, nullptr);
    if (t == "thinking_delta") return chunk({{"reasoning_content", string_field(d, "thinking")}}, nullptr);
    if (t == "input_json_delta")
      return chunk(
          {{"tool_calls",
            Json::array({{{"index", tool_index}, {"function", {{"arguments", string_field(d, "partial_json")}}}}})}},
          nullptr);
    return "";
  }
  if (name == "message_delta") {
    if (data.contains("usage") && data["usage"].is_object())
      usage.output = data["usage"].value("output_tokens", usage.output);
    if (data.contains("delta")) finish = reason_from_anthropic(string_field(data["delta"], "stop_reason"));
    return chunk(Json::object(), finish);
  }
  if (name == "message_stop") {
    std::string s;
    if (include_usage)
      s = sse_data({{"id", id},
                    {"object", "chat.completion.chunk"},
                    {"created", created},
                    {"model", model},
                    {"choices", Json::array()},
                    {"usage", openai_usage(usage.tokens())}});
    return s + "data: [DONE]\n\n";
  }
  if (name == "error") return sse_data({{"error", data.contains("error") ? data["error"] : data}});
  return "";  // ping, content_block_stop
}

std::string OpenAIToAnthropicStream::on_data(const std::string& data) {
  if (data == "[DONE]") return finish();
  Json c;
  try {
    c = Json::parse(data);
  } catch (const std::exception&) {
    return "";
  }
  std::string s;
  if (!started) {
    started = true;
    s += sse_event("message_start", {{"type", "message_start"},
                                     {"message",
                                      {{"id", "msg_" + string_field(c, "id")},
                                       {"type", "message"},
                                       {"role", "assistant"},
                                       {"model", model},
                                       {"content", Json::array()},
                                       {"stop_reason", nullptr},
                                       {"stop_sequence", nullptr},
                                       {"usage", {{"input_tokens", 0}, {"output_tokens", 0}}}}}});
  }
  if (c.contains("usage") && c["usage"].is_object()) {
    usage.set(usage_from_openai(c["usage"]));
  }
  if (!c.contains("choices") || !c["choices"].is_array() || c["choices"].empty()) return s;
  const Json ch = c["choices"][0];
  const Json d = ch.contains("delta") ? ch["delta"] : Json::object();
  auto open = [&](const std::string& kind, const Json& block) {
    if (open_index >= 0) s += sse_event("content_block_stop", {{"type", "content_block_stop"}, {"index", open_index}});
    open_index = next_index++, open_kind = kind;
    s += sse_event("content_block_start",
                   {{"type", "content_block_start"}, {"index", open_index}, {"content_block", block}});
  };
  auto delta = [&](const Json& dd) {
    s += sse_event("content_block_delta", {{"type", "content_block_delta"}, {"index", open_index}, {"delta", dd}});
  };
  if (!string_field(d, "reasoning_content").empty()) {
    if (open_kind != "thinking") open("thinking", {{"type", "thinking"}, {"thinking", ""}, {"signature", ""}});
    delta({{"type", "thinking_delta"}, {"thinking", string_field(d, "reasoning_content")}});
  }
  if (!string_field(d, "content").empty()) {
    if (open_kind != "text") open("text", {{"type", "text"}, {"text", ""}});
    delta({{"type", "text_delta"}, {"text", string_field(d, "content")}});
  }
  if (d.contains("tool_calls") && d["tool_calls"].is_array())
    for (const auto& tc : d["tool_calls"]) {
      const int idx = tc.value("index", 0);
      const Json fn = tc.contains("function") ? tc["function"] : Json::object();
      if (open_kind != "tool_use" || idx != open_tool) {
        open("tool_use", {{"type", "tool_use"},
                          {"id", string_field(tc, "id")},
                          {"name", string_field(fn, "name")},
                          {"input", Json::object()}});
        open_tool = idx;
      }
      if (!string_field(fn, "arguments").empty())
        delta({{"type", "input_json_delta"}, {"partial_json", string_field(fn, "arguments")}});
    }
  if (ch.contains("finish_reason") && ch["finish_reason"].is_string())
    stop_reason = anthropic_stop_reason(ch["finish_reason"].get<std::string>());
  return s;
}

std::string OpenAIToAnthropicStream::finish() {
  if (stopped) return "";
  stopped = true;
  std::string s;
  if (open_index >= 0) s += sse_event("content_block_stop", {{"type", "content_block_stop"}, {"index", open_index}});
  open_index = -1;
  s += sse_event("message_delta", {{"type", "message_delta"},
                                   {"delta", {{"stop_reason", stop_reason}, {"stop_sequence", nullptr}}},
                                   {"usage", {{"output_tokens", usage.output}}}});
  s += sse_event("message_stop", {{"type", "message_stop"}});
  return s;
}

}  // namespace onprem::protocol
