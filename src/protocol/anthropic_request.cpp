#include "protocol/anthropic_request.h"

#include "protocol/json_text.h"
#include "protocol/thinking.h"

namespace onprem::protocol {

namespace {

std::optional<ApiError> check_tools(const Json& body) {
  if (!body.contains("tools") || body["tools"].is_null()) return std::nullopt;
  if (!body["tools"].is_array()) return bad_request("tools: must be an array", "tools");
  for (const auto& t : body["tools"]) {
    if (!t.is_object() || !t.contains("name") || !t["name"].is_string())
      return bad_request("tools: each tool needs a name", "tools");
    if (t.contains("input_schema") && !t["input_schema"].is_object())
      return bad_request("tools: input_schema must be an object", "tools");
    if (t.contains("description") && !t["description"].is_string())
      return bad_request("tools: description must be a string", "tools");
  }
  return std::nullopt;
}

// An image block as an OpenAI image_url part.
std::optional<Json> image_part(const Json& block) {
  const Json src = block.contains("source") ? block["source"] : Json();
  const std::string type = string_field(src, "type");
  std::string url;
  if (type == "base64")
    url = "data:" + string_field(src, "media_type") + ";base64," + string_field(src, "data");
  else if (type == "url")
    url = string_field(src, "url");
  else
    return std::nullopt;
  return Json{{"type", "image_url"}, {"image_url", {{"url", url}}}};
}

// One message's content blocks, appended to `msgs` as OpenAI messages.
std::optional<ApiError> add_blocks(const std::string& role, const Json& blocks, Json* msgs) {
  std::string text, thinking;
  Json calls = Json::array(), parts = Json::array();
  for (const auto& b : blocks) {
    const std::string type = string_field(b, "type");
    if (type == "text") {
      text += string_field(b, "text");
      parts.push_back({{"type", "text"}, {"text", string_field(b, "text")}});
    } else if (type == "image") {
      auto p = image_part(b);
      if (!p) return bad_request("messages: an image source must be of type 'base64' or 'url'", "messages");
      parts.push_back(*p);
    } else if (type == "thinking") {
      thinking += string_field(b, "thinking");
    } else if (type == "redacted_thinking") {
      // Encrypted by Anthropic: nothing any other model can read.
    } else if (type == "tool_use") {
      calls.push_back(
          {{"id", string_field(b, "id")},
           {"type", "function"},
           {"function",
            {{"name", string_field(b, "name")},
             {"arguments", json_text(b.contains("input") && b["input"].is_object() ? b["input"] : Json::object())}}}});
    } else if (type == "tool_result") {
      msgs->push_back({{"role", "tool"},
                       {"tool_call_id", string_field(b, "tool_use_id")},
                       {"content", b.contains("content") ? anthropic_text(b["content"]) : std::string()}});
    } else {
      return bad_request("messages: unsupported content block type '" + type + "'", "messages");
    }
  }
  if (role == "assistant") {
    Json a = {{"role", "assistant"}, {"content", text}};
    if (!thinking.empty()) a["reasoning_content"] = thinking;
    if (!calls.empty()) a["tool_calls"] = calls;
    msgs->push_back(a);
  } else if (!parts.empty()) {
    msgs->push_back({{"role", "user"}, {"content", parts}});
  }
  return std::nullopt;
}

Json tools_of(const Json& tools) {
  Json out = Json::array();
  for (const auto& t : tools) {
    Json fn = {{"name", string_field(t, "name")},
               {"parameters", t.contains("input_schema") ? t["input_schema"] : Json{{"type", "object"}}}};
    if (t.contains("description")) fn["description"] = t["description"];
    out.push_back({{"type", "function"}, {"function", fn}});
  }
  return out;
}

// tool_choice: auto, any (OpenAI "required"), tool (one named function), none;
// disable_parallel_tool_use is OpenAI's parallel_tool_calls: false.
std::optional<ApiError> tool_choice_of(const Json& body, Json* o) {
  if (!body.contains("tool_choice") || body["tool_choice"].is_null()) return std::nullopt;
  const Json& tc = body["tool_choice"];
  if (!tc.is_object() || !tc.contains("type") || !tc["type"].is_string())
    return bad_request("tool_choice: Field required: an object with \"type\"", "tool_choice");
  const std::string type = tc["type"].get<std::string>();
  if (type == "auto")
    (*o)["tool_choice"] = "auto";
  else if (type == "any")
    (*o)["tool_choice"] = "required";
  else if (type == "none")
    (*o)["tool_choice"] = "none";
  else if (type == "tool" && !string_field(tc, "name").empty())
    (*o)["tool_choice"] = {{"type", "function"}, {"function", {{"name", string_field(tc, "name")}}}};
  else if (type == "tool")
    return bad_request("tool_choice.tool.name: Field required", "tool_choice");
  else
    return bad_request("tool_choice: Input tag '" + type +
                           "' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', "
                           "'none'",
                       "tool_choice");
  if (tc.contains("disable_parallel_tool_use") && tc["disable_parallel_tool_use"] == true)
    (*o)["parallel_tool_calls"] = false;
  return std::nullopt;
}

}  // namespace

std::string anthropic_text(const Json& c) {
  if (c.is_string()) return c.get<std::string>();
  std::string s;
  if (c.is_array())
    for (const auto& b : c)
      if (string_field(b, "type") == "text") s += string_field(b, "text");
  return s;
}

std::optional<ApiError> anthropic_to_chat(const Json& body, const AnthropicToChat& how, Json* out) {
  if (!body.is_object()) return bad_request("the request body must be a JSON object");
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty())
    return bad_request("messages: must be a non-empty array", "messages");
  if (!how.count_only && (!body.contains("max_tokens") || !body["max_tokens"].is_number_integer()))
    return bad_request("max_tokens: field required", "max_tokens");
  // Wrong types are 400s that name the field, never read as something else.
  if (body.contains("system") && !body["system"].is_null() && !body["system"].is_string() && !body["system"].is_array())
    return bad_request("system: must be a string or an array of text blocks", "system");
  if (auto e = check_tools(body)) return e;
  if (body.contains("stop_sequences") && !body["stop_sequences"].is_array())
    return bad_request("stop_sequences: Input should be a valid list", "stop_sequences");

  Json msgs = Json::array();
  if (body.contains("system") && !body["system"].is_null())
    msgs.push_back({{"role", "system"}, {"content", anthropic_text(body["system"])}});
  for (const auto& m : body["messages"]) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      return bad_request("messages: each message needs a role", "messages");
    const std::string role = m["role"].get<std::string>();
    if (role != "user" && role != "assistant" && role != "system")
      return bad_request("messages: Unexpected role \"" + role + "\"; roles are user, assistant and system",
                         "messages");
    const Json& c = m.contains("content") ? m["content"] : Json();
    if (role == "system") {  // rendered as a system turn where it stands
      if (!c.is_string() && !c.is_array())
        return bad_request("messages: system content must be a string or text blocks", "messages");
      msgs.push_back({{"role", "system"}, {"content", anthropic_text(c)}});
    } else if (c.is_string()) {
      msgs.push_back({{"role", role}, {"content", c}});
    } else if (!c.is_array()) {
      return bad_request("messages: content must be a string or an array of blocks", "messages");
    } else if (auto e = add_blocks(role, c, &msgs)) {
      return e;
    }
  }

  Json o = {{"messages", msgs}};
  if (body.contains("model")) o["model"] = body["model"];
  if (body.contains("max_tokens")) o["max_tokens"] = body["max_tokens"];
  for (const char* k : {"temperature", "top_p", "top_k", "stream"})
    if (body.contains(k)) o[k] = body[k];
  if (body.contains("stop_sequences")) o["stop"] = body["stop_sequences"];
  if (body.contains("tools") && body["tools"].is_array()) o["tools"] = tools_of(body["tools"]);
  if (auto e = tool_choice_of(body, &o)) return e;
  if (body.contains("metadata") && !string_field(body["metadata"], "user_id").empty())
    o["user"] = string_field(body["metadata"], "user_id");
  // onprem's extensions, as on the OpenAI routes; `thinking` below sets the budget when it asks
  // for one.
  if (how.onprem_extensions)
    for (const char* k : {"preset", "ignore_eos", "loop_guard", "restore_reasoning", "thinking_budget"})
      if (body.contains(k)) o[k] = body[k];
  if (auto e = anthropic_thinking_to_chat(body, &o)) return e;
  *out = o;
  return std::nullopt;
}

}  // namespace onprem::protocol
