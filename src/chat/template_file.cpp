#include "chat/template_file.h"

namespace onprem::chat {

core::Expected<std::string> render_chat_with(const jinja::Template& t, const Json& messages, const Json& tools, const RenderOptions& opt) {
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

}  // namespace onprem::chat
