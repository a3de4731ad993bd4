#include "api/anthropic.h"

namespace onprem::api {

using chat::Json;

namespace {

std::string event(const std::string& name, const Json& data) {
  return "event: " + name + "\ndata: " + data.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
}

// A loop-guard stop is "max_tokens" (see Generation::loop_guard_stopped).
std::string stop_reason(const Generation& g) {
  const std::string f = g.finish_reason();
  if (f == "tool_calls") return "tool_use";
  if (f == "length" || f == "repetition") return "max_tokens";
  return "end_turn";
}

// Anthropic's usage: input_tokens are the prompt tokens computed afresh, cache_read_input_tokens
// those the prefix cache supplied; clients add the two (and cache creation, always 0 here).
Json usage_json(const engine::Finish& f) {
  return {{"input_tokens", f.prompt_tokens - f.cached_tokens},
          {"cache_read_input_tokens", f.cached_tokens},
          {"cache_creation_input_tokens", 0},
          {"output_tokens", f.completion_tokens}};
}

void add_stop_detail(const Generation& g, Json* j) {
  if (g.loop_guard_stopped()) (*j)["onprem_stop"] = "loop_guard";
}

// `thinking: {"type": "adaptive"}` takes its budget from `output_config.effort` (Anthropic's
// default effort is high; its top level is "max").
std::optional<int64_t> effort_budget(const std::string& effort) { return effort_thinking_budget(effort, "max"); }

}  // namespace

std::optional<ApiError> thinking_to_chat(const Json& body, Json* o) {
  bool on = false;
  if (body.contains("thinking") && !body["thinking"].is_null()) {
    const Json& t = body["thinking"];
    if (!t.is_object() || !t.contains("type") || !t["type"].is_string())
      return bad_request("thinking: Field required: an object with \"type\" 'disabled', 'enabled' or 'adaptive'",
                         "thinking");
    const std::string type = t["type"].get<std::string>();
    if (type == "enabled") {
      on = true;
      if (t.contains("budget_tokens")) {
        if (!t["budget_tokens"].is_number_integer())
          return bad_request("thinking.enabled.budget_tokens: Input should be a valid integer", "thinking");
        (*o)["thinking_budget"] = t["budget_tokens"];
      }
    } else if (type == "adaptive") {
      on = true;
      std::string effort = "high";
      if (body.contains("output_config") && body["output_config"].is_object() &&
          body["output_config"].contains("effort")) {
        const Json& e = body["output_config"]["effort"];
        if (!e.is_string() || !effort_budget(e.get<std::string>()))
          return bad_request("output_config.effort: Input should be 'low', 'medium', 'high' or 'max'", "output_config");
        effort = e.get<std::string>();
      }
      if (const int64_t b = *effort_budget(effort); b > 0) (*o)["thinking_budget"] = b;
    } else if (type != "disabled") {
      return bad_request(
          "thinking: Input tag '" + type +
              "' found using 'type' does not match any of the expected tags: 'disabled', 'enabled', 'adaptive'",
          "thinking");
    }
  }
  (*o)["chat_template_kwargs"] = {{"enable_thinking", on}};
  return std::nullopt;
}

// Text of an Anthropic content value (string or blocks), for system prompts and tool results.
std::string block_text(const Json& c) {
  if (c.is_string()) return c.get<std::string>();
  std::string s;
  if (c.is_array())
    for (const auto& b : c)
      if (b.is_object() && b.value("type", "") == "text" && b.contains("text") && b["text"].is_string())
        s += b["text"].get<std::string>();
  return s;
}

std::optional<ApiError> messages_to_chat(const Json& body, bool count_only, Json* out) {
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty())
    return bad_request("messages: must be a non-empty array", "messages");
  if (!count_only && (!body.contains("max_tokens") || !body["max_tokens"].is_number_integer()))
    return bad_request("max_tokens: field required", "max_tokens");
  // Wrong types are 400s that name the field, never read as something else.
  if (body.contains("system") && !body["system"].is_null() && !body["system"].is_string() && !body["system"].is_array())
    return bad_request("system: must be a string or an array of text blocks", "system");
  if (body.contains("tools") && !body["tools"].is_null()) {
    if (!body["tools"].is_array()) return bad_request("tools: must be an array", "tools");
    for (const auto& t : body["tools"]) {
      if (!t.is_object() || !t.contains("name") || !t["name"].is_string())
        return bad_request("tools: each tool needs a name", "tools");
      if (t.contains("input_schema") && !t["input_schema"].is_object())
        return bad_request("tools: input_schema must be an object", "tools");
      if (t.contains("description") && !t["description"].is_string())
        return bad_request("tools: description must be a string", "tools");
    }
  }
  Json msgs = Json::array();
  if (body.contains("system")) msgs.push_back({{"role", "system"}, {"content", block_text(body["system"])}});
  for (const auto& m : body["messages"]) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      return bad_request("messages: each message needs a role", "messages");
    const std::string role = m["role"].get<std::string>();
    if (role != "user" && role != "assistant" && role != "system")
      return bad_request("messages: Unexpected role \"" + role + "\"; roles are user, assistant and system",
                         "messages");
    const Json& c = m.contains("content") ? m["content"] : Json();
    // Mid-conversation system messages (Claude Code's mid-conversation-system beta) stay where
    // they stand: the template renders them as system turns there.
    if (role == "system") {
      if (!c.is_string() && !c.is_array())
        return bad_request("messages: system content must be a string or text blocks", "messages");
      msgs.push_back({{"role", "system"}, {"content", block_text(c)}});
      continue;
    }
    if (c.is_string()) {
      msgs.push_back({{"role", role}, {"content", c}});
      continue;
    }
    if (!c.is_array()) return bad_request("messages: content must be a string or an array of blocks", "messages");
    std::string text, thinking;
    Json calls = Json::array(), parts = Json::array();
    for (const auto& b : c) {
      const std::string type = b.is_object() ? b.value("type", "") : "";
      if (type == "text") {
        text += b.value("text", "");
        parts.push_back({{"type", "text"}, {"text", b.value("text", "")}});
      } else if (type == "image") {
        parts.push_back({{"type", "image"}});
      } else if (type == "thinking") {
        thinking += b.value("thinking", "");
      } else if (type == "redacted_thinking") {
      } else if (type == "tool_use") {
        calls.push_back(
            {{"id", b.value("id", "")},
             {"type", "function"},
             {"function",
              {{"name", b.value("name", "")}, {"arguments", b.contains("input") ? b["input"] : Json::object()}}}});
      } else if (type == "tool_result") {
        msgs.push_back({{"role", "tool"},
                        {"tool_call_id", b.value("tool_use_id", "")},
                        {"content", b.contains("content") ? block_text(b["content"]) : std::string()}});
      } else {
        return bad_request("messages: unsupported content block type '" + type + "'", "messages");
      }
    }
    if (role == "assistant") {
      Json a = {{"role", "assistant"}, {"content", text}};
      if (!thinking.empty()) a["reasoning_content"] = thinking;
      if (!calls.empty()) a["tool_calls"] = calls;
      msgs.push_back(a);
    } else if (!parts.empty()) {
      msgs.push_back({{"role", "user"}, {"content", parts}});
    }
  }
  Json o = {{"messages", msgs}};
  if (body.contains("model")) o["model"] = body["model"];
  if (body.contains("max_tokens")) o["max_tokens"] = body["max_tokens"];
  // After Anthropic's own fields, onprem's extensions (as on the OpenAI routes); `thinking` below
  // sets the budget when it asks for one.
  for (const char* k : {"temperature", "top_p", "top_k", "stream", "preset", "ignore_eos", "loop_guard",
                        "restore_reasoning", "thinking_budget"})
    if (body.contains(k)) o[k] = body[k];
  if (body.contains("stop_sequences")) o["stop"] = body["stop_sequences"];
  if (body.contains("tools") && body["tools"].is_array()) {
    Json tools = Json::array();
    for (const auto& t : body["tools"])
      tools.push_back({{"type", "function"},
                       {"function",
                        {{"name", t.value("name", "")},
                         {"description", t.value("description", "")},
                         {"parameters", t.contains("input_schema") ? t["input_schema"] : Json::object()}}}});
    o["tools"] = tools;
  }
  if (body.contains("tool_choice") && body["tool_choice"].is_object()) {
    const std::string type = body["tool_choice"].value("type", "auto");
    if (type == "any")
      o["tool_choice"] = "required";
    else if (type == "none")
      o["tool_choice"] = "none";
    else if (type == "tool")
      o["tool_choice"] = {{"type", "function"}, {"function", {{"name", body["tool_choice"].value("name", "")}}}};
  }
  // Anthropic semantics: thinking only when asked for, with its budget.
  if (auto e = thinking_to_chat(body, &o)) return e;
  *out = o;
  return std::nullopt;
}

Json messages_response(const ChatPlan& plan, const Generation& g, const std::string& id) {
  const auto& r = g.result();
  Json content = Json::array();
  if (!r.reasoning.empty()) content.push_back({{"type", "thinking"}, {"thinking", r.reasoning}, {"signature", ""}});
  if (!r.content.empty()) content.push_back({{"type", "text"}, {"text", r.content}});
  for (const auto& c : r.tool_calls)
    content.push_back({{"type", "tool_use"}, {"id", c.id}, {"name", c.name}, {"input", c.arguments}});
  Json m = {{"id", id},
            {"type", "message"},
            {"role", "assistant"},
            {"model", plan.model},
            {"content", content},
            {"stop_reason", stop_reason(g)},
            {"stop_sequence", Json()},
            {"usage", usage_json(g.finish())}};
  add_stop_detail(g, &m);
  return m;
}

std::string MessagesStream::events(const Generation& g, const std::vector<GenerationEvent>& ev) {
  std::string out;
  if (!started) {
    started = true;
    out +=
        event("message_start", {{"type", "message_start"},
                                {"message",
                                 {{"id", id},
                                  {"type", "message"},
                                  {"role", "assistant"},
                                  {"model", plan->model},
                                  {"content", Json::array()},
                                  {"stop_reason", Json()},
                                  {"stop_sequence", Json()},
                                  {"usage", {{"input_tokens", int64_t(plan->prompt.size())}, {"output_tokens", 0}}}}}});
  }
  auto close = [&] {
    if (open_index < 0) return;
    out += event("content_block_stop", {{"type", "content_block_stop"}, {"index", open_index}});
    open_index = -1, open_kind.clear();
  };
  auto open = [&](const std::string& kind, Json block) {
    close();
    open_index = next_index++, open_kind = kind;
    out += event("content_block_start",
                 {{"type", "content_block_start"}, {"index", open_index}, {"content_block", block}});
  };
  for (const auto& e : ev) {
    if (e.kind == GenerationEvent::Kind::kDelta) {
      const auto& d = e.delta;
      if (d.kind == chat::OutputDelta::Kind::kReasoning) {
        if (open_kind != "thinking") open("thinking", {{"type", "thinking"}, {"thinking", ""}, {"signature", ""}});
        out += event("content_block_delta", {{"type", "content_block_delta"},
                                             {"index", open_index},
                                             {"delta", {{"type", "thinking_delta"}, {"thinking", d.text}}}});
      } else if (d.kind == chat::OutputDelta::Kind::kContent) {
        if (open_kind != "text") open("text", {{"type", "text"}, {"text", ""}});
        out += event("content_block_delta", {{"type", "content_block_delta"},
                                             {"index", open_index},
                                             {"delta", {{"type", "text_delta"}, {"text", d.text}}}});
      } else if (d.kind == chat::OutputDelta::Kind::kToolCallBegin) {
        open("tool_use", {{"type", "tool_use"}, {"id", d.id}, {"name", d.name}, {"input", Json::object()}});
      } else if (d.kind == chat::OutputDelta::Kind::kToolCallArguments) {
        out += event("content_block_delta", {{"type", "content_block_delta"},
                                             {"index", open_index},
                                             {"delta", {{"type", "input_json_delta"}, {"partial_json", d.text}}}});
      }
    } else if (e.kind == GenerationEvent::Kind::kFinish) {
      close();
      if (g.finish().reason == engine::FinishReason::kError) {  // never dressed as a normal end
        out += event("error", {{"type", "error"}, {"error", {{"type", "api_error"}, {"message", g.finish().error}}}});
        continue;
      }
      Json delta = {{"stop_reason", stop_reason(g)}, {"stop_sequence", Json()}};
      add_stop_detail(g, &delta);
      // The final usage, with what the prefix cache supplied (unknown when message_start went out:
      // that one counts the whole prompt as input).
      out += event("message_delta", {{"type", "message_delta"}, {"delta", delta}, {"usage", usage_json(g.finish())}});
      out += event("message_stop", {{"type", "message_stop"}});
    }
  }
  return out;
}

}  // namespace onprem::api
