#include "protocol/responses_request.h"

#include "protocol/json_text.h"
#include "protocol/openai_request.h"
#include "protocol/thinking.h"

namespace onprem::protocol {

namespace {

Message with_role(std::string role) {
  Message m;
  m.role = std::move(role);
  return m;
}

// Text of a content value: a string, or parts with "text" (input_text, output_text, text).
std::string parts_text(const Json& c) {
  if (c.is_string()) return c.get<std::string>();
  std::string s;
  if (c.is_array())
    for (const auto& p : c) s += string_field(p, "text");
  return s;
}

std::optional<ApiError> read_content(const Json& c, std::vector<ContentPart>* out) {
  if (c.is_string()) {
    out->push_back({ContentPart::Kind::kText, c.get<std::string>(), ""});
    return std::nullopt;
  }
  const ApiError e =
      bad_request("input: message content must be a string or input_text / output_text / input_image parts", "input");
  if (!c.is_array()) return e;
  for (const auto& p : c) {
    const std::string type = string_field(p, "type");
    if (type == "input_text" || type == "output_text" || type == "text")
      out->push_back({ContentPart::Kind::kText, string_field(p, "text"), ""});
    else if (type == "input_image")
      out->push_back({ContentPart::Kind::kImage, "", string_field(p, "image_url")});
    else
      return e;
  }
  return std::nullopt;
}

std::optional<ApiError> read_input(const Json& body, std::vector<Message>* msgs) {
  std::string pending_reasoning;  // a reasoning item belongs to the assistant turn after it
  auto assistant = [&]() -> Message& {
    if (msgs->empty() || msgs->back().role != "assistant") {
      msgs->push_back(with_role("assistant"));
      if (!pending_reasoning.empty()) msgs->back().reasoning = pending_reasoning, pending_reasoning.clear();
    }
    return msgs->back();
  };
  auto text_message = [](std::string role, std::string text) {
    Message m = with_role(std::move(role));
    m.content.push_back({ContentPart::Kind::kText, std::move(text), ""});
    return m;
  };
  if (body["input"].is_string()) {
    msgs->push_back(text_message("user", body["input"].get<std::string>()));
    return std::nullopt;
  }
  for (const auto& it : body["input"]) {
    if (!it.is_object()) return bad_request("input: each item must be an object", "input");
    const std::string type = it.contains("type") ? string_field(it, "type") : "message";  // easy messages: no type
    if (type == "message") {
      std::string role = string_field(it, "role");
      if (role == "developer") role = "system";
      if (role != "user" && role != "assistant" && role != "system")
        return bad_request("input: message role must be user, assistant, system or developer", "input");
      Message m = with_role(role);
      if (auto e = read_content(it.contains("content") ? it["content"] : Json(), &m.content)) return e;
      if (role == "assistant") {
        Message& a = assistant();  // output text joins the turn its calls and reasoning belong to
        const std::string text = a.text() + m.text();
        a.content.assign(1, {ContentPart::Kind::kText, text, ""});
      } else {
        msgs->push_back(std::move(m));
      }
    } else if (type == "function_call") {
      const Json& a = it.contains("arguments") ? it["arguments"] : Json("{}");
      assistant().tool_calls.push_back(
          {string_field(it, "call_id"), string_field(it, "name"), a.is_string() ? a.get<std::string>() : json_text(a)});
    } else if (type == "function_call_output") {
      Message t = text_message("tool", parts_text(it.contains("output") ? it["output"] : Json()));
      t.tool_call_id = string_field(it, "call_id");
      msgs->push_back(std::move(t));
    } else if (type == "reasoning") {
      for (const char* k : {"summary", "content"})
        if (it.contains(k)) pending_reasoning += parts_text(it[k]);
    } else {
      return bad_request(
          "input: item type '" + type + "' is not supported (message, function_call, function_call_output, reasoning)",
          "input");
    }
  }
  return std::nullopt;
}

void read_tools(const Json& tools, std::vector<Tool>* out, Json* namespaces) {
  auto add = [&](const Json& t) {
    Tool tool;
    tool.name = string_field(t, "name");
    tool.description = string_field(t, "description");
    tool.parameters =
        t.contains("parameters") && t["parameters"].is_object() ? t["parameters"] : Json{{"type", "object"}};
    out->push_back(std::move(tool));
  };
  for (const auto& t : tools) {
    const std::string type = string_field(t, "type");
    if (type == "function")
      add(t);
    else if (type == "namespace" && t.contains("tools") && t["tools"].is_array())
      for (const auto& inner : t["tools"])
        if (!inner.contains("type") || string_field(inner, "type") == "function") {
          add(inner);
          (*namespaces)[string_field(inner, "name")] = string_field(t, "name");
        }
    // Hosted tools (web_search, file_search, code_interpreter, ...) run on OpenAI's side: dropped.
  }
}

void read_tool_choice(const Json& tc, bool has_tools, ToolChoice* out) {
  const std::string s = tc.is_string() ? tc.get<std::string>() : "";
  if (s == "none")
    out->mode = ToolChoice::Mode::kNone;
  else if (!has_tools)  // a choice among the hosted tools that were dropped
    return;
  else if (s == "required")
    out->mode = ToolChoice::Mode::kRequired;
  else if (tc.is_object() && string_field(tc, "type") == "function")
    out->mode = ToolChoice::Mode::kNamed, out->name = string_field(tc, "name");
}

}  // namespace

std::optional<ApiError> parse_responses(const Json& body, ChatRequest* out, Json* namespaces) {
  *out = ChatRequest{};
  *namespaces = Json::object();
  if (!body.is_object()) return bad_request("the request body must be a JSON object");
  if (body.contains("previous_response_id") && !body["previous_response_id"].is_null())
    return bad_request(
        "previous_response_id is not supported: this server stores no responses; send the whole conversation in input "
        "(store: false)",
        "previous_response_id");
  if (!body.contains("input") || !(body["input"].is_string() || body["input"].is_array()))
    return bad_request("input must be a string or an array of items", "input");
  if (body.contains("instructions") && !body["instructions"].is_null()) {
    if (!body["instructions"].is_string()) return bad_request("instructions must be a string", "instructions");
    Message m = with_role("system");
    m.content.push_back({ContentPart::Kind::kText, body["instructions"].get<std::string>(), ""});
    out->messages.push_back(std::move(m));
  }
  if (auto e = read_input(body, &out->messages)) return e;
  if (body.contains("model") && !body["model"].is_null()) {
    if (!body["model"].is_string()) return bad_request("model must be a string", "model");
    out->model = body["model"].get<std::string>();
  }
  if (body.contains("max_output_tokens") && !body["max_output_tokens"].is_null()) {
    const Json& m = body["max_output_tokens"];
    if (!m.is_number_integer() || m.get<int64_t>() < 0)
      return bad_request("max_output_tokens must be a non-negative integer", "max_output_tokens");
    out->max_tokens = m.get<int64_t>();
  }
  Json sampling = Json::object();
  for (const char* k : {"temperature", "top_p"})
    if (body.contains(k)) sampling[k] = body[k];
  if (auto e = parse_sampling(sampling, out)) return e;
  if (body.contains("stream") && !body["stream"].is_null()) {
    if (!body["stream"].is_boolean()) return bad_request("stream must be true or false", "stream");
    out->stream = body["stream"].get<bool>();
  }
  if (auto e = parse_onprem_extensions(body, out)) return e;
  if (body.contains("tools") && !body["tools"].is_null()) {
    if (!body["tools"].is_array()) return bad_request("tools must be an array", "tools");
    read_tools(body["tools"], &out->tools, namespaces);
  }
  if (body.contains("tool_choice") && !body["tool_choice"].is_null())
    read_tool_choice(body["tool_choice"], !out->tools.empty(), &out->tool_choice);
  if (body.contains("text") && body["text"].is_object() && body["text"].contains("format") &&
      body["text"]["format"].is_object()) {
    const Json& f = body["text"]["format"];
    const std::string type = string_field(f, "type");
    if (type == "json_schema") {
      if (!f.contains("schema") || !f["schema"].is_object())
        return bad_request("text.format.schema must be an object", "text");
      out->response_format = {ResponseFormat::Kind::kJsonSchema, f["schema"]};
    } else if (type == "json_object") {
      out->response_format.kind = ResponseFormat::Kind::kJsonObject;
    }
  }
  out->thinking.enabled = true;
  if (body.contains("reasoning") && body["reasoning"].is_object() && body["reasoning"].contains("effort") &&
      !body["reasoning"]["effort"].is_null()) {
    const std::string e = string_field(body["reasoning"], "effort");
    if (e == "none" || e == "minimal")
      out->thinking.enabled = false;
    else if (auto b = effort_thinking_budget(e, "xhigh")) {  // the Responses API's top level is "xhigh"
      if (*b > 0) out->thinking.budget = *b;
    } else {
      return bad_request("reasoning.effort must be none, minimal, low, medium, high or xhigh", "reasoning");
    }
  }
  return std::nullopt;
}

}  // namespace onprem::protocol
