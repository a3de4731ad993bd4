#include "protocol/chat_body.h"

#include <charconv>
#include <cstdlib>

namespace onprem::protocol {

namespace {

Json content_json(const Message& m) {
  if (m.text_only()) return m.text();
  Json parts = Json::array();
  for (const auto& p : m.content) switch (p.kind) {
      case ContentPart::Kind::kText:
        parts.push_back({{"type", "text"}, {"text", p.text}});
        break;
      case ContentPart::Kind::kImage:
        parts.push_back({{"type", "image_url"}, {"image_url", {{"url", p.url}}}});
        break;
      case ContentPart::Kind::kVideo:
        parts.push_back({{"type", "video"}});
        break;
    }
  return parts;
}

}  // namespace

Json float_json(float v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf - 1, v);
  *r.ptr = '\0';
  return std::strtod(buf, nullptr);
}

Json chat_messages(const std::vector<Message>& messages) {
  Json out = Json::array();
  for (const auto& m : messages) {
    Json j = {{"role", m.role}};
    if (m.role == "tool") j["tool_call_id"] = m.tool_call_id;
    j["content"] = content_json(m);
    if (!m.name.empty()) j["name"] = m.name;
    if (m.reasoning) j["reasoning_content"] = *m.reasoning;
    if (!m.tool_calls.empty()) {
      Json calls = Json::array();
      for (const auto& c : m.tool_calls)
        calls.push_back(
            {{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
      j["tool_calls"] = calls;
    }
    out.push_back(std::move(j));
  }
  return out;
}

Json chat_tools(const std::vector<Tool>& tools) {
  Json out = Json::array();
  for (const auto& t : tools) {
    if (!t.openai_definition.is_null()) {
      out.push_back(t.openai_definition);
      continue;
    }
    Json fn = {{"name", t.name}, {"parameters", t.parameters}};
    if (!t.description.empty()) fn["description"] = t.description;
    out.push_back({{"type", "function"}, {"function", fn}});
  }
  return out;
}

Json chat_body(const ChatRequest& r, const ChatBodyOptions& how) {
  Json o = Json::object();
  if (r.prompt)
    o["prompt"] = *r.prompt;
  else
    o["messages"] = chat_messages(r.messages);
  if (!r.model.empty()) o["model"] = r.model;
  if (r.max_tokens) o["max_tokens"] = *r.max_tokens;
  const sample::SamplingOverrides& s = r.sampling;
  for (const auto& [k, v] :
       {std::pair{"temperature", s.temperature}, std::pair{"top_p", s.top_p}, std::pair{"min_p", s.min_p},
        std::pair{"presence_penalty", s.presence_penalty}, std::pair{"frequency_penalty", s.frequency_penalty},
        std::pair{"repetition_penalty", s.repetition_penalty}})
    if (v) o[k] = float_json(*v);
  if (s.top_k) o["top_k"] = *s.top_k;
  if (s.seed) o["seed"] = *s.seed;
  if (!s.logit_bias.empty()) {
    Json b = Json::object();
    for (const auto& [id, bias] : s.logit_bias) b[std::to_string(id)] = float_json(bias);
    o["logit_bias"] = b;
  }
  o["stream"] = r.stream;
  if (r.stream && r.include_usage) o["stream_options"] = {{"include_usage", true}};
  if (!r.stop.empty()) o["stop"] = r.stop;
  if (r.logprobs) o["logprobs"] = true, o["top_logprobs"] = r.top_logprobs;
  if (!r.tools.empty()) o["tools"] = chat_tools(r.tools);
  const ToolChoice& tc = r.tool_choice;
  if (!r.tools.empty() || tc.mode != ToolChoice::Mode::kAuto) switch (tc.mode) {
      case ToolChoice::Mode::kAuto:
        o["tool_choice"] = "auto";
        break;
      case ToolChoice::Mode::kNone:
        o["tool_choice"] = "none";
        break;
      case ToolChoice::Mode::kRequired:
        o["tool_choice"] = "required";
        break;
      case ToolChoice::Mode::kNamed:
        o["tool_choice"] = {{"type", "function"}, {"function", {{"name", tc.name}}}};
        break;
    }
  if (tc.parallel_calls) o["parallel_tool_calls"] = *tc.parallel_calls;
  if (r.response_format.kind == ResponseFormat::Kind::kJsonObject)
    o["response_format"] = {{"type", "json_object"}};
  else if (r.response_format.kind == ResponseFormat::Kind::kJsonSchema)
    o["response_format"] = {{"type", "json_schema"},
                            {"json_schema", {{"name", "response"}, {"schema", r.response_format.schema}}}};
  if (!r.user.empty()) o["user"] = r.user;
  if (!r.thinking.effort.empty()) o["reasoning_effort"] = r.thinking.effort;
  if (how.onprem_extensions) {
    if (!r.preset.empty()) o["preset"] = r.preset;
    if (r.ignore_eos) o["ignore_eos"] = true;
    if (!r.loop_guard) o["loop_guard"] = false;
    if (r.restore_reasoning) o["restore_reasoning"] = *r.restore_reasoning;
  }
  // The budget of thinking that is on travels to every backend: it is what an Anthropic client's
  // budget_tokens or effort becomes (another onprem honours it; other servers ignore it).
  if (r.thinking.budget && (how.onprem_extensions || r.thinking.enabled.value_or(true)))
    o["thinking_budget"] = *r.thinking.budget;
  Json kwargs = Json::object();
  if (r.thinking.enabled) kwargs["enable_thinking"] = *r.thinking.enabled;
  if (r.thinking.preserve) kwargs["preserve_thinking"] = true;
  if (!kwargs.empty()) o["chat_template_kwargs"] = kwargs;
  return o;
}

}  // namespace onprem::protocol
