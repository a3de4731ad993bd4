#include "router/features.h"

#include <functional>

#include "router/pii_scan.h"

namespace onprem::router {

using chat::Json;

namespace {

void append_content(const Json& c, std::string* out) {
  if (c.is_string()) {
    *out += c.get<std::string>();
    *out += '\n';
    return;
  }
  if (!c.is_array()) return;
  for (const auto& b : c) {
    if (b.is_string()) *out += b.get<std::string>() + "\n";
    if (!b.is_object()) continue;
    for (const char* field : {"text", "thinking"})
      if (b.contains(field) && b[field].is_string()) *out += b[field].get<std::string>() + "\n";
    if (b.contains("content")) append_content(b["content"], out);  // Anthropic tool_result
    if (b.contains("input")) *out += b["input"].dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  }
}

std::string header(const HeaderMap& h, const char* name) {
  auto it = h.find(name);
  return it == h.end() ? std::string() : it->second;
}

std::string str_field(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

}  // namespace

int64_t estimate_tokens(std::string_view s) {
  int64_t ascii = 0, other = 0;
  for (unsigned char c : s) {
    if (c < 0x80)
      ++ascii;
    else if ((c & 0xC0) != 0x80)
      ++other;  // a code point's lead byte
  }
  return (ascii + 3) / 4 + other;
}

RequestFeatures extract_features(const Json& body, ApiShape shape, const HeaderMap& headers, const KeyConfig* key,
                                 const TokenCounter& count) {
  RequestFeatures f;
  f.shape = shape;
  f.model = str_field(body, "model");
  f.stream = body.contains("stream") && body["stream"].is_boolean() && body["stream"].get<bool>();
  int64_t n_messages = 0;
  std::string first_user, system;
  if (shape == ApiShape::kAnthropic && body.contains("system")) append_content(body["system"], &system);
  if (body.contains("messages") && body["messages"].is_array()) {
    for (const auto& m : body["messages"]) {
      if (!m.is_object()) continue;
      ++n_messages;
      const std::string role = str_field(m, "role");
      std::string t;
      if (m.contains("content")) append_content(m["content"], &t);
      if (m.contains("reasoning_content") && m["reasoning_content"].is_string())
        t += m["reasoning_content"].get<std::string>() + "\n";
      if (m.contains("tool_calls")) t += m["tool_calls"].dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
      if (role == "system" || role == "developer")
        system += t;
      else if (role == "user" && first_user.empty())
        first_user = t;
      f.text += t;
    }
  }
  f.text = system + f.text;
  if (shape == ApiShape::kOpenAI && body.contains("prompt") && body["prompt"].is_string())
    f.text += body["prompt"].get<std::string>();
  std::string tool_text;
  if (body.contains("tools") && body["tools"].is_array() && !body["tools"].empty()) {
    f.tools = true;
    tool_text = body["tools"].dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  f.prompt_tokens_counted = bool(count);
  f.prompt_tokens = (count ? count(f.text) + count(tool_text) : estimate_tokens(f.text) + estimate_tokens(tool_text)) +
                    4 * n_messages;

  for (const char* k : {"max_tokens", "max_completion_tokens"})
    if (body.contains(k) && body[k].is_number_integer())
      f.output_tokens = std::max<int64_t>(f.output_tokens, body[k].get<int64_t>());
  f.context_tokens = f.prompt_tokens + f.output_tokens;

  const Json tc = body.contains("tool_choice") ? body["tool_choice"] : Json();
  if (shape == ApiShape::kOpenAI) {
    if (tc.is_string())
      f.tool_choice = tc.get<std::string>();
    else if (tc.is_object())
      f.tool_choice = "named";
    const Json kw = body.contains("chat_template_kwargs") ? body["chat_template_kwargs"] : Json();
    if (kw.is_object() && kw.contains("enable_thinking") && kw["enable_thinking"].is_boolean())
      f.thinking = kw["enable_thinking"].get<bool>();
    const std::string effort = str_field(body, "reasoning_effort");
    if (!effort.empty() && effort != "none" && effort != "minimal") f.thinking = true;
    f.user = str_field(body, "user");
  } else {
    const std::string t = str_field(tc, "type");
    if (t == "any")
      f.tool_choice = "required";
    else if (t == "tool")
      f.tool_choice = "named";
    else if (t == "none")
      f.tool_choice = "none";
    const std::string think = str_field(body.contains("thinking") ? body["thinking"] : Json(), "type");
    f.thinking = think == "enabled" || think == "adaptive";
  }
  if (!f.tools && f.tool_choice == "auto") f.tool_choice = "none";

  // Metadata (OpenAI `metadata`, Anthropic `metadata`) and headers; headers win.
  const Json md = body.contains("metadata") && body["metadata"].is_object() ? body["metadata"] : Json::object();
  if (f.user.empty()) f.user = str_field(md, "user_id");
  if (f.user.empty()) f.user = str_field(md, "user");
  std::string cls = str_field(md, "data_class"), lat = str_field(md, "latency");
  if (md.contains("data_class") && !md["data_class"].is_string()) f.error = "metadata.data_class: must be a string";
  f.workload = str_field(md, "workload");
  if (!header(headers, "x-onprem-data-class").empty()) cls = header(headers, "x-onprem-data-class");
  if (!header(headers, "x-onprem-latency").empty()) lat = header(headers, "x-onprem-latency");
  if (!header(headers, "x-onprem-workload").empty()) f.workload = header(headers, "x-onprem-workload");
  if (!header(headers, "x-onprem-user").empty()) f.user = header(headers, "x-onprem-user");
  if (lat == "batch" || lat == "interactive") f.latency = lat;
  if (key) f.team = key->team, f.key_name = key->name, f.declared_class = key->data_class;
  // A client may raise its class, never lower it below its key's default. A label the router
  // does not know is refused, not read as public: the guard fails closed.
  if (!cls.empty()) {
    const auto c = parse_data_class(cls);
    if (!c)
      f.error = "data_class: '" + cls + "' is not public, internal, confidential or regulated";
    else if (*c > f.declared_class)
      f.declared_class = *c;
  }
  // The detector reads every string of the body (any field can be forwarded), decoded and
  // normalised; a body it cannot read to the end stays on premises.
  const BodyScan scan = scan_json(body);
  f.pii = scan.findings;
  f.uninspectable = scan.uninspectable;
  f.data_class = std::max(f.declared_class, pii_class(f.pii));
  if (!f.uninspectable.empty()) f.data_class = std::max(f.data_class, DataClass::kConfidential);

  const uint64_t h = std::hash<std::string>{}(f.key_name + '\x1f' + system + '\x1f' + first_user);
  f.affinity = std::to_string(h);
  return f;
}

}  // namespace onprem::router
