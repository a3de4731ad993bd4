// The Qwen3.5 / Qwen3.6 chat template, rendered natively: an OpenAI-style message list (+ tools)
// to the exact prompt text python-jinja2 produces from the official template (tested byte for
// byte on a generated corpus against shared/spec/templates/*.jinja).
#pragma once

#include <string>
#include <string_view>

#include "chat/pyjson.h"
#include "core/status.h"

namespace onprem::chat {

enum class TemplateFlavor { kQwen35, kQwen36 };  // 3.6 adds preserve_thinking

struct RenderOptions {
  bool add_generation_prompt = true;
  Json enable_thinking;    // undefined (null) = on; only the boolean false turns thinking off
  Json preserve_thinking;  // truthy keeps every past <think> block (Qwen3.6)
  bool add_vision_id = false;
  TemplateFlavor flavor = TemplateFlavor::kQwen36;
  // Beyond the official templates (which raise "System message must be at the beginning."): a
  // system message after the first renders as a system turn where it stands, as Anthropic's
  // mid-conversation system messages ask.
  bool system_anywhere = false;
};

// messages: [{role, content (string | parts | null), reasoning_content?, tool_calls?}];
// tool_calls[i].function.arguments may be an object or a JSON string (parsed here).
// tools: array (or null). Errors are the template's own (e.g. "No user query found in messages.").
core::Expected<std::string> render_chat(const Json& messages, const Json& tools, const RenderOptions& opt);

// Which known template a GGUF's tokenizer.chat_template is; nullopt-like kQwen36 + known=false
// when it differs from both (the caller warns and still renders natively).
struct TemplateMatch {
  bool known = false;
  TemplateFlavor flavor = TemplateFlavor::kQwen36;
};
TemplateMatch identify_template(std::string_view template_text);

}  // namespace onprem::chat
