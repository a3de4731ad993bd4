#include "protocol/translate.h"

#include <chrono>

#include "protocol/anthropic_request.h"
#include "protocol/json_text.h"
#include "protocol/stop_reason.h"
#include "protocol/usage.h"

namespace onprem::protocol {

namespace {

std::string dump(const Json& j) { return json_text(j); }

std::string text_of(const Json& c) {
  if (c.is_string()) return c.get<std::string>();
  std::string s;
  if (c.is_array())
    for (const auto& p : c)
      if (p.is_object() && p.contains("text") && p["text"].is_string()) s += p["text"].get<std::string>();
  return s;
}

// OpenAI content (string or parts) -> Anthropic content blocks.
Json blocks_of(const Json& c) {
  Json out = Json::array();
  if (c.is_string()) {
    if (!c.get<std::string>().empty()) out.push_back({{"type", "text"}, {"text", c}});
    return out;
  }
  if (!c.is_array()) return out;
  for (const auto& p : c) {
    const std::string type = string_field(p, "type");
    if (type == "text") {
      out.push_back({{"type", "text"}, {"text", string_field(p, "text")}});
    } else if (type == "image_url") {
      const std::string url =
          p.contains("image_url")
              ? (p["image_url"].is_string() ? p["image_url"].get<std::string>() : string_field(p["image_url"], "url"))
              : "";
      const size_t comma = url.find(',');
      if (url.rfind("data:", 0) == 0 && comma != std::string::npos && url.find(";base64") < comma)
        out.push_back({{"type", "image"},
                       {"source",
                        {{"type", "base64"},
                         {"media_type", url.substr(5, url.find(';') - 5)},
                         {"data", url.substr(comma + 1)}}}});
      else
        out.push_back({{"type", "image"}, {"source", {{"type", "url"}, {"url", url}}}});
    }
  }
  return out;
}

// Anthropic requires user/assistant alternation: consecutive turns of one role are merged.
void push_turn(Json* msgs, const std::string& role, const Json& blocks) {
  if (blocks.empty()) return;
  if (!msgs->empty() && msgs->back()["role"] == role) {
    for (const auto& b : blocks) msgs->back()["content"].push_back(b);
    return;
  }
  msgs->push_back({{"role", role}, {"content", blocks}});
}

}  // namespace

std::optional<std::string> openai_to_anthropic_request(const Json& in, const std::string& model,
                                                       int64_t default_max_tokens, Json* out) {
  if (!in.contains("messages") || !in["messages"].is_array() || in["messages"].empty())
    return "messages: must be a non-empty array";
  Json o = Json::object();
  o["model"] = model.empty() ? string_field(in, "model") : model;
  std::string system;
  Json msgs = Json::array();
  for (const auto& m : in["messages"]) {
    if (!m.is_object()) return "messages: each message must be an object";
    const std::string role = string_field(m, "role");
    const Json c = m.contains("content") ? m["content"] : Json();
    if (role == "system" || role == "developer") {
      system += (system.empty() ? "" : "\n\n") + text_of(c);
    } else if (role == "user") {
      push_turn(&msgs, "user", blocks_of(c));
    } else if (role == "assistant") {
      // Reasoning is not sent back: the API accepts only thinking blocks it signed itself.
      Json blocks = blocks_of(c);
      if (m.contains("tool_calls") && m["tool_calls"].is_array())
        for (const auto& tc : m["tool_calls"]) {
          const Json fn = tc.contains("function") ? tc["function"] : Json::object();
          Json input = Json::object();
          const Json args = fn.contains("arguments") ? fn["arguments"] : Json();
          try {
            input =
                args.is_string() ? Json::parse(args.get<std::string>()) : (args.is_object() ? args : Json::object());
          } catch (const std::exception&) {
            return "messages: tool call arguments are not JSON";
          }
          blocks.push_back({{"type", "tool_use"},
                            {"id", string_field(tc, "id")},
                            {"name", string_field(fn, "name")},
                            {"input", input}});
        }
      push_turn(&msgs, "assistant", blocks);
    } else if (role == "tool") {
      push_turn(
          &msgs, "user",
          Json::array(
              {{{"type", "tool_result"}, {"tool_use_id", string_field(m, "tool_call_id")}, {"content", text_of(c)}}}));
    } else {
      return "messages: role '" + role + "' cannot be sent to the Anthropic API";
    }
  }
  if (!system.empty()) o["system"] = system;
  o["messages"] = msgs;
  int64_t max_tokens = default_max_tokens;
  for (const char* k : {"max_completion_tokens", "max_tokens"})
    if (in.contains(k) && in[k].is_number_integer()) max_tokens = in[k].get<int64_t>();
  o["max_tokens"] = max_tokens;
  for (const char* k : {"temperature", "top_p", "top_k"})
    if (in.contains(k) && in[k].is_number()) o[k] = in[k];
  if (in.contains("stop")) {
    if (in["stop"].is_string())
      o["stop_sequences"] = Json::array({in["stop"]});
    else if (in["stop"].is_array())
      o["stop_sequences"] = in["stop"];
  }
  if (in.contains("stream") && in["stream"].is_boolean()) o["stream"] = in["stream"];
  if (in.contains("tools") && in["tools"].is_array()) {
    Json tools = Json::array();
    for (const auto& t : in["tools"]) {
      const Json fn = t.contains("function") ? t["function"] : Json::object();
      Json a = {{"name", string_field(fn, "name")},
                {"input_schema", fn.contains("parameters") ? fn["parameters"] : Json{{"type", "object"}}}};
      if (fn.contains("description")) a["description"] = fn["description"];
      tools.push_back(a);
    }
    o["tools"] = tools;
  }
  if (in.contains("tool_choice")) {
    const Json& tc = in["tool_choice"];
    Json choice;
    if (tc == "auto")
      choice = {{"type", "auto"}};
    else if (tc == "none")
      choice = {{"type", "none"}};
    else if (tc == "required")
      choice = {{"type", "any"}};
    else if (tc.is_object())
      choice = {{"type", "tool"}, {"name", string_field(tc.contains("function") ? tc["function"] : Json(), "name")}};
    if (!choice.is_null()) {
      if (in.contains("parallel_tool_calls") && in["parallel_tool_calls"] == false && choice["type"] != "none")
        choice["disable_parallel_tool_use"] = true;
      o["tool_choice"] = choice;
    }
  }
  // Thinking only when asked for: Qwen's chat_template_kwargs or OpenAI's reasoning_effort.
  const Json kw = in.contains("chat_template_kwargs") ? in["chat_template_kwargs"] : Json();
  const bool think = (kw.is_object() && kw.contains("enable_thinking") && kw["enable_thinking"] == true) ||
                     (!string_field(in, "reasoning_effort").empty() && string_field(in, "reasoning_effort") != "none" &&
                      string_field(in, "reasoning_effort") != "minimal");
  if (think) {
    int64_t budget = in.contains("thinking_budget") && in["thinking_budget"].is_number_integer()
                         ? in["thinking_budget"].get<int64_t>()
                         : 1024;
    budget = std::max<int64_t>(1024, std::min(budget, max_tokens - 1));
    if (budget < max_tokens) o["thinking"] = {{"type", "enabled"}, {"budget_tokens", budget}};
  }
  const std::string user = string_field(in, "user");
  if (!user.empty()) o["metadata"] = {{"user_id", user}};
  *out = o;
  return std::nullopt;
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
                           {"arguments", dump(b.contains("input") ? b["input"] : Json::object())}}}});
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
  Json o;
  if (auto e = anthropic_to_chat(in, {.onprem_extensions = false}, &o)) return e->message;
  if (!model.empty()) o["model"] = model;
  if (o.value("stream", false) == true) o["stream_options"] = {{"include_usage", true}};
  *out = o;
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
