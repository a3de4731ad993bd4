// Rendering a conversation with a template's own text (a GGUF's tokenizer.chat_template or a
// .jinja file) through our Jinja interpreter, with the variables transformers' apply_chat_template
// passes: messages (tool-call arguments given as JSON strings parsed to objects, as servers do),
// tools, add_generation_prompt and the chat_template_kwargs that are set. The output parser stays
// Qwen3.6's: a template that changes the tool-call or reasoning syntax is not understood.
#pragma once

#include "chat/jinja.h"
#include "chat/template.h"

namespace onprem::chat {

core::Expected<std::string> render_chat_with(const jinja::Template& t, const Json& messages, const Json& tools,
                                             const RenderOptions& opt);

// How a file's own template relates to the built-in renderer, judged by what it renders: a set of
// probe conversations (tools, reasoning, tool calls and responses, thinking off, preserve_thinking,
// several turns) rendered both ways. Text comparison would call a template with other whitespace
// or comments different although it renders the same prompts.
struct TemplateCheck {
  bool parsed = false;                              // our interpreter reads it (else `error` says why)
  bool same_as_builtin = false;                     // every probe renders identically with the built-in renderer
  TemplateFlavor flavor = TemplateFlavor::kQwen36;  // the flavor it matches, when it does
  std::string error;                                // the parse error, or the first probe that differs
  std::string describe() const;                     // one line for inspect and serve
};
TemplateCheck check_template(std::string_view text);

}  // namespace onprem::chat
