#include "chat/template_file.h"

namespace onprem::chat {

core::Expected<std::string> render_chat_with(const jinja::Template& t, const Json& messages, const Json& tools,
                                             const RenderOptions& opt) {
  Json msgs = messages.is_array() ? messages : Json::array();
  for (Json& m : msgs) {
    if (!m.is_object() || !m.contains("tool_calls") || !m["tool_calls"].is_array()) continue;
    for (Json& c : m["tool_calls"]) {
      Json* fn = c.is_object() && c.contains("function") && c["function"].is_object() ? &c["function"] : &c;
      if (!fn->is_object() || !fn->contains("arguments") || !(*fn)["arguments"].is_string()) continue;
      try {
        (*fn)["arguments"] = Json::parse((*fn)["arguments"].get<std::string>());
      } catch (const Json::exception&) {
        // Not JSON: the template sees the string.
      }
    }
  }
  Json ctx = Json::object();
  ctx["messages"] = std::move(msgs);
  ctx["tools"] = tools;
  ctx["add_generation_prompt"] = opt.add_generation_prompt;
  if (!opt.enable_thinking.is_null()) ctx["enable_thinking"] = opt.enable_thinking;
  if (!opt.preserve_thinking.is_null()) ctx["preserve_thinking"] = opt.preserve_thinking;
  if (opt.add_vision_id) ctx["add_vision_id"] = true;
  return t.render(ctx);
}

namespace {

// Probe conversations: each is (messages, tools, options).
struct Probe {
  const char* what;
  const char* messages;
  const char* tools;
  bool thinking_off = false, preserve = false, generation_prompt = true;
};

constexpr Probe kProbes[] = {
    {"a system prompt and a question",
     R"([{"role":"system","content":"You are brief."},{"role":"user","content":"Hi there"}])", "null"},
    {"tools offered", R"([{"role":"user","content":"Weather in Seoul?"}])",
     R"([{"type":"function","function":{"name":"get_weather","description":"Weather",)"
     R"("parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}])"},
    {"a tool call and its result",
     R"([{"role":"system","content":"S"},{"role":"user","content":"Weather in Seoul and Oslo?"},)"
     R"({"role":"assistant","content":"","reasoning_content":"Two requests.","tool_calls":[{"id":"a",)"
     R"("type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Seoul\", \"days\": 2}"}},)"
     R"({"id":"b","type":"function","function":{"name":"get_weather","arguments":{"city":"Oslo","units":["c",)"
     R"(1]}}}]},{"role":"tool","tool_call_id":"a","content":"18C"},{"role":"tool","tool_call_id":"b",)"
     R"("content":"3C"}])",
     R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object",)"
     R"("properties":{"city":{"type":"string"}}}}}])"},
    {"thinking off", R"([{"role":"user","content":"Hi"}])", "null", true},
    {"several turns with reasoning",
     R"([{"role":"user","content":"One"},{"role":"assistant","content":"<think>\nr1\n</think>\n\nA1"},)"
     R"({"role":"user","content":"Two"},{"role":"assistant","reasoning_content":"r2","content":"A2"},)"
     R"({"role":"user","content":"Three"}])",
     "null"},
    {"preserve_thinking",
     R"([{"role":"user","content":"One"},{"role":"assistant","reasoning_content":"r1","content":"A1"},)"
     R"({"role":"user","content":"Two"}])",
     "null", false, true},
    {"no generation prompt", R"([{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}])", "null",
     false, false, false},
    {"content parts", R"([{"role":"user","content":[{"type":"text","text":"Look: "},{"type":"text","text":"here"}]}])",
     "null"},
};

}  // namespace

TemplateCheck check_template(std::string_view text) {
  TemplateCheck c;
  auto t = jinja::Template::parse(text);
  if (!t) {
    c.error = t.error().message;
    return c;
  }
  c.parsed = true;
  for (const TemplateFlavor flavor : {TemplateFlavor::kQwen36, TemplateFlavor::kQwen35}) {
    std::string differs;
    for (const Probe& p : kProbes) {
      RenderOptions o;
      o.flavor = flavor;
      o.add_generation_prompt = p.generation_prompt;
      if (p.thinking_off) o.enable_thinking = false;
      if (p.preserve) o.preserve_thinking = true;
      const Json messages = Json::parse(p.messages), tools = Json::parse(p.tools);
      auto a = render_chat(messages, tools, o);
      auto b = render_chat_with(*t, messages, tools, o);
      if (a.ok() != b.ok() || (a.ok() && *a != *b)) {
        differs = std::string("renders ") + p.what + " differently" + (b.ok() ? "" : " (" + b.error().message + ")");
        break;
      }
    }
    if (differs.empty()) {
      c.same_as_builtin = true, c.flavor = flavor, c.error.clear();
      return c;
    }
    if (c.error.empty()) c.error = differs;
  }
  return c;
}

std::string TemplateCheck::describe() const {
  if (!parsed) return "not readable by onprem's Jinja interpreter: " + error;
  if (same_as_builtin)
    return flavor == TemplateFlavor::kQwen36 ? "renders as the built-in Qwen3.6 format"
                                             : "renders as the built-in Qwen3.5 format";
  return "differs from the built-in Qwen3.6 format: " + error;
}

}  // namespace onprem::chat
