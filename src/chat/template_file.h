// Rendering a conversation with a template's own text (a GGUF's tokenizer.chat_template or a
// .jinja file) through our Jinja interpreter, with the variables transformers' apply_chat_template
// passes: messages (tool-call arguments given as JSON strings parsed to objects, as servers do),
// tools, add_generation_prompt and the chat_template_kwargs that are set. The output parser stays
// Qwen3.6's: a template that changes the tool-call or reasoning syntax is not understood.
#pragma once

#include "chat/jinja.h"
#include "chat/template.h"

namespace onprem::chat {

core::Expected<std::string> render_chat_with(const jinja::Template& t, const Json& messages, const Json& tools, const RenderOptions& opt);

}  // namespace onprem::chat
