#include "protocol/openai_request.h"

#include <climits>
#include <cstdlib>

#include "protocol/json_text.h"

namespace onprem::protocol {

namespace {

bool present(const Json& body, const char* k) { return body.contains(k) && !body[k].is_null(); }

std::optional<ApiError> read_bool(const Json& body, const char* k, bool* out) {
  if (!present(body, k)) return std::nullopt;
  if (!body[k].is_boolean()) return bad_request(std::string(k) + " must be true or false", k);
  *out = body[k].get<bool>();
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> parse_sampling(const Json& body, ChatRequest* out) {
  sample::SamplingOverrides& o = out->sampling;
  struct F {
    const char* name;
    std::optional<float>* dst;
    double lo, hi;
  };
  for (const F& f :
       {F{"temperature", &o.temperature, 0, 2}, F{"top_p", &o.top_p, 0, 1}, F{"min_p", &o.min_p, 0, 1},
        F{"presence_penalty", &o.presence_penalty, -2, 2}, F{"frequency_penalty", &o.frequency_penalty, -2, 2},
        F{"repetition_penalty", &o.repetition_penalty, 0.01, 10}}) {
    if (!present(body, f.name)) continue;
    if (!body[f.name].is_number()) return bad_request(std::string(f.name) + " must be a number", f.name);
    const double v = body[f.name].get<double>();
    if (v < f.lo || v > f.hi)
      return bad_request(
          std::string(f.name) + " must be between " + std::to_string(f.lo) + " and " + std::to_string(f.hi), f.name);
    *f.dst = float(v);
  }
  if (present(body, "top_k")) {
    const Json& k = body["top_k"];
    if (!k.is_number_integer() || k.get<int64_t>() < -1 || k.get<int64_t>() > INT32_MAX)
      return bad_request("top_k must be an integer, -1 or 0 for no limit", "top_k");
    o.top_k = k.get<int32_t>();
  }
  if (present(body, "seed")) {
    if (!body["seed"].is_number_integer()) return bad_request("seed must be an integer", "seed");
    o.seed = uint64_t(body["seed"].get<int64_t>());
  }
  if (present(body, "logit_bias")) {
    if (!body["logit_bias"].is_object()) return bad_request("logit_bias must be an object", "logit_bias");
    for (auto it = body["logit_bias"].begin(); it != body["logit_bias"].end(); ++it) {
      char* end = nullptr;
      const long id = std::strtol(it.key().c_str(), &end, 10);
      if (it.key().empty() || *end || id < 0 || id > INT32_MAX || !it.value().is_number())
        return bad_request("logit_bias keys must be token ids and values numbers", "logit_bias");
      o.logit_bias.push_back({int32_t(id), it.value().get<float>()});
    }
  }
  return std::nullopt;
}

std::optional<ApiError> parse_onprem_extensions(const Json& body, ChatRequest* out) {
  if (present(body, "preset")) {
    if (!body["preset"].is_string()) return bad_request("preset must be a string", "preset");
    out->preset = body["preset"].get<std::string>();
  }
  if (auto e = read_bool(body, "ignore_eos", &out->ignore_eos)) return e;
  if (auto e = read_bool(body, "loop_guard", &out->loop_guard)) return e;
  if (present(body, "restore_reasoning")) {
    bool r = false;
    if (auto e = read_bool(body, "restore_reasoning", &r)) return e;
    out->restore_reasoning = r;
  }
  if (present(body, "thinking_budget")) {
    const Json& b = body["thinking_budget"];
    if (!b.is_number_integer() || b.get<int64_t>() < 0)
      return bad_request(
          "thinking_budget must be a non-negative integer (tokens of reasoning before the answer is forced)",
          "thinking_budget");
    out->thinking.budget = b.get<int64_t>();
  }
  return std::nullopt;
}

namespace {

// What both APIs share: model, n, sampling, limits, stream, stop, logprobs and onprem's extensions.
std::optional<ApiError> read_common(const Json& body, ChatRequest* out) {
  if (!body.is_object()) return bad_request("the request body must be a JSON object");
  if (present(body, "model")) {
    if (!body["model"].is_string()) return bad_request("model must be a string", "model");
    out->model = body["model"].get<std::string>();
  }
  if (present(body, "n") && (!body["n"].is_number_integer() || body["n"].get<int64_t>() != 1))
    return bad_request("only n = 1 is supported", "n");
  if (auto e = parse_sampling(body, out)) return e;
  for (const char* k : {"max_tokens", "max_completion_tokens"}) {
    if (!present(body, k)) continue;
    if (!body[k].is_number_integer() || body[k].get<int64_t>() < 0)
      return bad_request(std::string(k) + " must be a non-negative integer", k);
    out->max_tokens = body[k].get<int64_t>();
  }
  if (auto e = read_bool(body, "stream", &out->stream)) return e;
  if (out->stream && present(body, "stream_options")) {
    if (!body["stream_options"].is_object()) return bad_request("stream_options must be an object", "stream_options");
    if (auto e = read_bool(body["stream_options"], "include_usage", &out->include_usage)) return e;
  }
  if (present(body, "stop")) {
    const Json& s = body["stop"];
    if (s.is_string()) {
      out->stop.push_back(s.get<std::string>());
    } else if (s.is_array()) {
      for (const auto& x : s) {
        if (!x.is_string()) return bad_request("stop must be a string or an array of strings", "stop");
        out->stop.push_back(x.get<std::string>());
      }
    } else {
      return bad_request("stop must be a string or an array of strings", "stop");
    }
  }
  if (auto e = read_bool(body, "logprobs", &out->logprobs)) return e;
  if (out->logprobs && present(body, "top_logprobs")) {
    const Json& t = body["top_logprobs"];
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() > 20)
      return bad_request("top_logprobs must be between 0 and 20", "top_logprobs");
    out->top_logprobs = t.get<int>();
  }
  if (present(body, "user")) {
    if (!body["user"].is_string()) return bad_request("user must be a string", "user");
    out->user = body["user"].get<std::string>();
  }
  return parse_onprem_extensions(body, out);
}

std::optional<ApiError> read_part(const Json& p, std::vector<ContentPart>* parts) {
  const ApiError e = bad_request("messages: each content part needs a type: text, image_url or video", "messages");
  if (!p.is_object()) return e;
  const std::string type = string_field(p, "type");
  if (type == "text" || (type.empty() && p.contains("text"))) {
    if (!p.contains("text") || !p["text"].is_string()) return bad_request("messages: text parts need text", "messages");
    parts->push_back({ContentPart::Kind::kText, p["text"].get<std::string>(), ""});
  } else if (type == "image_url" || type == "image" || p.contains("image_url") || p.contains("image")) {
    const Json& u = p.contains("image_url") ? p["image_url"] : Json();
    parts->push_back({ContentPart::Kind::kImage, "", u.is_string() ? u.get<std::string>() : string_field(u, "url")});
  } else if (type == "video" || p.contains("video")) {
    parts->push_back({ContentPart::Kind::kVideo, "", ""});
  } else {
    return bad_request("messages: unsupported content part type '" + type + "'", "messages");
  }
  return std::nullopt;
}

std::optional<ApiError> read_content(const Json& c, std::vector<ContentPart>* parts) {
  if (c.is_null()) return std::nullopt;
  if (c.is_string()) {
    parts->push_back({ContentPart::Kind::kText, c.get<std::string>(), ""});
    return std::nullopt;
  }
  if (!c.is_array()) return bad_request("messages: content must be a string, null or an array of parts", "messages");
  for (const auto& p : c)
    if (auto e = read_part(p, parts)) return e;
  return std::nullopt;
}

std::optional<ApiError> read_tool_calls(const Json& calls, std::vector<ToolCall>* out) {
  if (calls.is_null()) return std::nullopt;
  const ApiError e =
      bad_request("messages: tool_calls must be an array of {id, function: {name, arguments}}", "messages");
  if (!calls.is_array()) return e;
  for (const auto& c : calls) {
    if (!c.is_object()) return e;
    const Json& f = c.contains("function") ? c["function"] : c;
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string()) return e;
    ToolCall t{string_field(c, "id"), f["name"].get<std::string>(), "{}"};
    const Json& a = f.contains("arguments") ? f["arguments"] : Json();
    if (a.is_string())
      t.arguments = a.get<std::string>();
    else if (a.is_object())
      t.arguments = json_text(a);
    else if (!a.is_null())
      return bad_request("messages: tool call arguments must be a JSON string or an object", "messages");
    out->push_back(std::move(t));
  }
  return std::nullopt;
}

std::optional<ApiError> read_messages(const Json& body, ChatRequest* out) {
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty())
    return bad_request("messages must be a non-empty array", "messages");
  for (const auto& m : body["messages"]) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      return bad_request("messages: each message needs a role", "messages");
    Message msg;
    msg.role = m["role"].get<std::string>();
    if (msg.role == "developer") msg.role = "system";  // OpenAI's newer name for system instructions
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant" && msg.role != "tool")
      return bad_request("messages: role must be system, developer, user, assistant or tool", "messages");
    if (auto e = read_content(m.contains("content") ? m["content"] : Json(), &msg.content)) return e;
    if (present(m, "reasoning_content")) {
      if (!m["reasoning_content"].is_string())
        return bad_request("messages: reasoning_content must be a string", "messages");
      msg.reasoning = m["reasoning_content"].get<std::string>();
    }
    if (auto e = read_tool_calls(m.contains("tool_calls") ? m["tool_calls"] : Json(), &msg.tool_calls)) return e;
    msg.tool_call_id = string_field(m, "tool_call_id");
    msg.name = string_field(m, "name");
    out->messages.push_back(std::move(msg));
  }
  return std::nullopt;
}

std::optional<ApiError> read_tools(const Json& body, ChatRequest* out) {
  if (!present(body, "tools")) return std::nullopt;
  if (!body["tools"].is_array()) return bad_request("tools must be an array", "tools");
  for (const auto& t : body["tools"]) {
    const Json* f = t.is_object() && t.contains("function") ? &t["function"] : nullptr;
    if (!f || !f->is_object() || !f->contains("name") || !(*f)["name"].is_string())
      return bad_request("tools: each tool needs function.name", "tools");
    if (present(*f, "parameters") && !(*f)["parameters"].is_object())
      return bad_request("tools: function.parameters must be an object", "tools");
    if (present(*f, "description") && !(*f)["description"].is_string())
      return bad_request("tools: function.description must be a string", "tools");
    Tool tool;
    tool.name = (*f)["name"].get<std::string>();
    tool.description = string_field(*f, "description");
    if (present(*f, "parameters")) tool.parameters = (*f)["parameters"];
    tool.openai_definition = t;
    out->tools.push_back(std::move(tool));
  }
  return std::nullopt;
}

// tool_choice: none | auto | required | {"type": "function", "function": {"name": ...}}
std::optional<ApiError> read_tool_choice(const Json& body, ToolChoice* out) {
  if (present(body, "tool_choice")) {
    const Json& tc = body["tool_choice"];
    const std::string s = tc.is_string() ? tc.get<std::string>() : "";
    const std::string named = tc.is_object() && tc.contains("function") ? string_field(tc["function"], "name") : "";
    if (s == "none")
      out->mode = ToolChoice::Mode::kNone;
    else if (s == "auto")
      out->mode = ToolChoice::Mode::kAuto;
    else if (s == "required")
      out->mode = ToolChoice::Mode::kRequired;
    else if (!named.empty())
      out->mode = ToolChoice::Mode::kNamed, out->name = named;
    else
      return bad_request("tool_choice must be none, auto, required or a named function", "tool_choice");
  }
  if (present(body, "parallel_tool_calls")) {
    bool p = true;
    if (auto e = read_bool(body, "parallel_tool_calls", &p)) return e;
    out->parallel_calls = p;
  }
  return std::nullopt;
}

std::optional<ApiError> read_response_format(const Json& body, ResponseFormat* out) {
  if (!present(body, "response_format")) return std::nullopt;
  const Json& rf = body["response_format"];
  const std::string type = rf.is_object() && rf.contains("type") ? string_field(rf, "type") : "";
  if (type == "text") {
    out->kind = ResponseFormat::Kind::kText;
  } else if (type == "json_object") {
    out->kind = ResponseFormat::Kind::kJsonObject;
  } else if (type == "json_schema") {
    const Json& js = rf.contains("json_schema") ? rf["json_schema"] : Json();
    if (!js.is_object() || !js.contains("schema") || !js["schema"].is_object())
      return bad_request("response_format.json_schema.schema must be an object", "response_format");
    out->kind = ResponseFormat::Kind::kJsonSchema;
    out->schema = js["schema"];
  } else {
    return bad_request("response_format.type must be text, json_object or json_schema", "response_format");
  }
  return std::nullopt;
}

// Qwen's chat_template_kwargs (enable_thinking, preserve_thinking) and OpenAI's reasoning_effort.
std::optional<ApiError> read_thinking(const Json& body, Thinking* out) {
  if (present(body, "chat_template_kwargs")) {
    const Json& kw = body["chat_template_kwargs"];
    if (!kw.is_object()) return bad_request("chat_template_kwargs must be an object", "chat_template_kwargs");
    // The template turns thinking off only for the boolean false.
    if (kw.contains("enable_thinking") && kw["enable_thinking"].is_boolean())
      out->enabled = kw["enable_thinking"].get<bool>();
    if (kw.contains("preserve_thinking"))
      out->preserve = chat::py_truthy(kw["preserve_thinking"]);  // as the template reads it
  }
  if (present(body, "reasoning_effort")) {
    if (!body["reasoning_effort"].is_string())
      return bad_request("reasoning_effort must be a string", "reasoning_effort");
    out->effort = body["reasoning_effort"].get<std::string>();
  }
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> parse_openai_chat(const Json& body, ChatRequest* out) {
  *out = ChatRequest{};
  if (auto e = read_common(body, out)) return e;
  if (auto e = read_messages(body, out)) return e;
  if (auto e = read_tools(body, out)) return e;
  if (auto e = read_tool_choice(body, &out->tool_choice)) return e;
  if (auto e = read_response_format(body, &out->response_format)) return e;
  return read_thinking(body, &out->thinking);
}

std::optional<ApiError> parse_openai_completion(const Json& body, ChatRequest* out) {
  *out = ChatRequest{};
  if (auto e = read_common(body, out)) return e;
  if (!body.contains("prompt") || !body["prompt"].is_string()) return bad_request("prompt must be a string", "prompt");
  out->prompt = body["prompt"].get<std::string>();
  return std::nullopt;
}

}  // namespace onprem::protocol
