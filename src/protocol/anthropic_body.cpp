#include "protocol/anthropic_body.h"

#include <algorithm>

#include "protocol/chat_body.h"

namespace onprem::protocol {

namespace {

// Content parts as Anthropic content blocks; images with a data: URL go as base64 sources.
Json blocks_of(const Message& m) {
  Json out = Json::array();
  for (const auto& p : m.content) {
    if (p.kind == ContentPart::Kind::kText) {
      if (!p.text.empty()) out.push_back({{"type", "text"}, {"text", p.text}});
    } else if (p.kind == ContentPart::Kind::kImage) {
      const std::string& url = p.url;
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

Json tool_choice_of(const ToolChoice& tc) {
  Json choice;
  switch (tc.mode) {
    case ToolChoice::Mode::kAuto:
      choice = {{"type", "auto"}};
      break;
    case ToolChoice::Mode::kNone:
      return {{"type", "none"}};
    case ToolChoice::Mode::kRequired:
      choice = {{"type", "any"}};
      break;
    case ToolChoice::Mode::kNamed:
      choice = {{"type", "tool"}, {"name", tc.name}};
      break;
  }
  if (tc.parallel_calls == false) choice["disable_parallel_tool_use"] = true;
  return choice;
}

}  // namespace

std::optional<std::string> anthropic_body(const ChatRequest& r, const std::string& model, int64_t default_max_tokens,
                                          Json* out) {
  if (r.messages.empty()) return "messages: must be a non-empty array";
  Json o = Json::object();
  o["model"] = model.empty() ? r.model : model;
  std::string system;
  Json msgs = Json::array();
  for (const auto& m : r.messages) {
    if (m.role == "system") {
      system += (system.empty() ? "" : "\n\n") + m.text();
    } else if (m.role == "user") {
      push_turn(&msgs, "user", blocks_of(m));
    } else if (m.role == "assistant") {
      // Reasoning is not sent back: the API accepts only thinking blocks it signed itself.
      Json blocks = blocks_of(m);
      for (const auto& c : m.tool_calls) {
        Json input;
        try {
          input = Json::parse(c.arguments);
        } catch (const std::exception&) {
          return "messages: tool call arguments are not JSON";
        }
        if (!input.is_object()) input = Json::object();
        blocks.push_back({{"type", "tool_use"}, {"id", c.id}, {"name", c.name}, {"input", input}});
      }
      push_turn(&msgs, "assistant", blocks);
    } else if (m.role == "tool") {
      push_turn(&msgs, "user",
                Json::array({{{"type", "tool_result"}, {"tool_use_id", m.tool_call_id}, {"content", m.text()}}}));
    } else {
      return "messages: role '" + m.role + "' cannot be sent to the Anthropic API";
    }
  }
  if (!system.empty()) o["system"] = system;
  o["messages"] = msgs;
  const int64_t max_tokens = r.max_tokens.value_or(default_max_tokens);
  o["max_tokens"] = max_tokens;
  if (r.sampling.temperature) o["temperature"] = float_json(*r.sampling.temperature);
  if (r.sampling.top_p) o["top_p"] = float_json(*r.sampling.top_p);
  if (r.sampling.top_k) o["top_k"] = *r.sampling.top_k;
  if (!r.stop.empty()) o["stop_sequences"] = r.stop;
  o["stream"] = r.stream;
  if (!r.tools.empty()) {
    Json tools = Json::array();
    for (const auto& t : r.tools) {
      Json a = {{"name", t.name}, {"input_schema", t.parameters.empty() ? Json{{"type", "object"}} : t.parameters}};
      if (!t.description.empty()) a["description"] = t.description;
      tools.push_back(a);
    }
    o["tools"] = tools;
    o["tool_choice"] = tool_choice_of(r.tool_choice);
  } else if (r.tool_choice.mode != ToolChoice::Mode::kAuto) {
    o["tool_choice"] = tool_choice_of(r.tool_choice);
  }
  // Thinking only when asked for: Qwen's chat_template_kwargs or OpenAI's reasoning_effort.
  const std::string& effort = r.thinking.effort;
  const bool think = r.thinking.enabled == true || (!effort.empty() && effort != "none" && effort != "minimal");
  if (think) {
    const int64_t budget = std::max<int64_t>(1024, std::min(r.thinking.budget.value_or(1024), max_tokens - 1));
    if (budget < max_tokens) o["thinking"] = {{"type", "enabled"}, {"budget_tokens", budget}};
  }
  if (!r.user.empty()) o["metadata"] = {{"user_id", r.user}};
  *out = o;
  return std::nullopt;
}

}  // namespace onprem::protocol
