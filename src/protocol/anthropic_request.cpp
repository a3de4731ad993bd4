#include "protocol/anthropic_request.h"

#include "protocol/json_text.h"
#include "protocol/openai_request.h"
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

// An image block's URL (a data: URL for base64 sources).
std::optional<std::string> image_url(const Json& block) {
  const Json src = block.contains("source") ? block["source"] : Json();
  const std::string type = string_field(src, "type");
  if (type == "base64") return "data:" + string_field(src, "media_type") + ";base64," + string_field(src, "data");
  if (type == "url") return string_field(src, "url");
  return std::nullopt;
}

// One message's content blocks. Tool results become role "tool" messages before the rest of
// their user turn, as the chat template orders them.
std::optional<ApiError> add_blocks(const std::string& role, const Json& blocks, std::vector<Message>* msgs) {
  Message m;
  m.role = role;
  std::string thinking;
  for (const auto& b : blocks) {
    const std::string type = string_field(b, "type");
    if (type == "text") {
      m.content.push_back({ContentPart::Kind::kText, string_field(b, "text"), ""});
    } else if (type == "image") {
      auto url = image_url(b);
      if (!url) return bad_request("messages: an image source must be of type 'base64' or 'url'", "messages");
      m.content.push_back({ContentPart::Kind::kImage, "", *url});
    } else if (type == "thinking") {
      thinking += string_field(b, "thinking");
    } else if (type == "redacted_thinking") {
      // Encrypted by Anthropic: nothing any other model can read.
    } else if (type == "tool_use") {
      m.tool_calls.push_back({string_field(b, "id"), string_field(b, "name"),
                              json_text(b.contains("input") && b["input"].is_object() ? b["input"] : Json::object())});
    } else if (type == "tool_result") {
      Message r;
      r.role = "tool";
      r.tool_call_id = string_field(b, "tool_use_id");
      r.content.push_back(
          {ContentPart::Kind::kText, b.contains("content") ? anthropic_text(b["content"]) : std::string(), ""});
      msgs->push_back(std::move(r));
    } else {
      return bad_request("messages: unsupported content block type '" + type + "'", "messages");
    }
  }
  if (role == "assistant") {
    if (!thinking.empty()) m.reasoning = thinking;
    msgs->push_back(std::move(m));
  } else if (!m.content.empty()) {
    msgs->push_back(std::move(m));
  }
  return std::nullopt;
}

std::vector<Tool> tools_of(const Json& tools) {
  std::vector<Tool> out;
  for (const auto& t : tools) {
    Tool tool;
    tool.name = string_field(t, "name");
    tool.description = string_field(t, "description");
    if (t.contains("input_schema"))
      tool.parameters = t["input_schema"];
    else
      tool.parameters = Json{{"type", "object"}};
    out.push_back(std::move(tool));
  }
  return out;
}

// tool_choice: auto, any (OpenAI "required"), tool (one named function), none;
// disable_parallel_tool_use is OpenAI's parallel_tool_calls: false.
std::optional<ApiError> tool_choice_of(const Json& body, ToolChoice* o) {
  if (!body.contains("tool_choice") || body["tool_choice"].is_null()) return std::nullopt;
  const Json& tc = body["tool_choice"];
  if (!tc.is_object() || !tc.contains("type") || !tc["type"].is_string())
    return bad_request("tool_choice: Field required: an object with \"type\"", "tool_choice");
  const std::string type = tc["type"].get<std::string>();
  if (type == "auto")
    o->mode = ToolChoice::Mode::kAuto;
  else if (type == "any")
    o->mode = ToolChoice::Mode::kRequired;
  else if (type == "none")
    o->mode = ToolChoice::Mode::kNone;
  else if (type == "tool" && !string_field(tc, "name").empty())
    o->mode = ToolChoice::Mode::kNamed, o->name = string_field(tc, "name");
  else if (type == "tool")
    return bad_request("tool_choice.tool.name: Field required", "tool_choice");
  else
    return bad_request("tool_choice: Input tag '" + type +
                           "' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', "
                           "'none'",
                       "tool_choice");
  if (tc.contains("disable_parallel_tool_use") && tc["disable_parallel_tool_use"] == true) o->parallel_calls = false;
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

std::optional<ApiError> parse_anthropic(const Json& body, const AnthropicParse& how, ChatRequest* out) {
  *out = ChatRequest{};
  if (!body.is_object()) return bad_request("the request body must be a JSON object");
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty())
    return bad_request("messages: must be a non-empty array", "messages");
  if (!how.count_only && (!body.contains("max_tokens") || !body["max_tokens"].is_number_integer() ||
                          body["max_tokens"].get<int64_t>() < 0))
    return bad_request("max_tokens: field required, a non-negative integer", "max_tokens");
  // Wrong types are 400s that name the field, never read as something else.
  if (body.contains("system") && !body["system"].is_null() && !body["system"].is_string() && !body["system"].is_array())
    return bad_request("system: must be a string or an array of text blocks", "system");
  if (auto e = check_tools(body)) return e;
  if (body.contains("stop_sequences") && !body["stop_sequences"].is_array())
    return bad_request("stop_sequences: Input should be a valid list", "stop_sequences");
  if (body.contains("model") && !body["model"].is_null() && !body["model"].is_string())
    return bad_request("model: Input should be a valid string", "model");
  if (body.contains("stream") && !body["stream"].is_null() && !body["stream"].is_boolean())
    return bad_request("stream: Input should be a valid boolean", "stream");

  auto text_message = [](const std::string& role, std::string text) {
    Message m;
    m.role = role;
    m.content.push_back({ContentPart::Kind::kText, std::move(text), ""});
    return m;
  };
  if (body.contains("system") && !body["system"].is_null())
    out->messages.push_back(text_message("system", anthropic_text(body["system"])));
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
      out->messages.push_back(text_message("system", anthropic_text(c)));
    } else if (c.is_string()) {
      out->messages.push_back(text_message(role, c.get<std::string>()));
    } else if (!c.is_array()) {
      return bad_request("messages: content must be a string or an array of blocks", "messages");
    } else if (auto e = add_blocks(role, c, &out->messages)) {
      return e;
    }
  }

  out->model = string_field(body, "model");
  if (body.contains("max_tokens") && body["max_tokens"].is_number_integer())
    out->max_tokens = body["max_tokens"].get<int64_t>();
  Json sampling = Json::object();
  for (const char* k : {"temperature", "top_p", "top_k"})
    if (body.contains(k)) sampling[k] = body[k];
  if (auto e = parse_sampling(sampling, out)) return e;
  out->stream = body.contains("stream") && body["stream"] == true;
  if (body.contains("stop_sequences"))
    for (const auto& s : body["stop_sequences"]) {
      if (!s.is_string())
        return bad_request("stop_sequences: Input should be a valid list of strings", "stop_sequences");
      out->stop.push_back(s.get<std::string>());
    }
  if (body.contains("tools") && body["tools"].is_array()) out->tools = tools_of(body["tools"]);
  if (auto e = tool_choice_of(body, &out->tool_choice)) return e;
  if (body.contains("metadata")) out->user = string_field(body["metadata"], "user_id");
  // onprem's extensions, as on the OpenAI routes; `thinking` below sets the budget when it asks
  // for one.
  if (auto e = parse_onprem_extensions(body, out)) return e;
  return anthropic_thinking(body, &out->thinking);
}

}  // namespace onprem::protocol
