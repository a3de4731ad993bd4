// Anthropic Messages API: requests are translated to the chat plan (the same template, parser
// and engine path as OpenAI), responses to content blocks and the Messages streaming events.
#pragma once

#include "api/openai.h"

namespace onprem::api {

// Translates a /v1/messages (or count_tokens) body into an OpenAI-style chat body.
std::optional<ApiError> messages_to_chat(const chat::Json& body, bool count_only, chat::Json* out);

// thinking: absent or {"type": "disabled"} = off; "enabled" with budget_tokens; "adaptive" with
// the budget of output_config.effort (low 1,024, medium 4,096, high 16,384 (the default), max
// none). Sets chat_body's chat_template_kwargs.enable_thinking and thinking_budget; anything else
// is refused in Anthropic's wording.
std::optional<ApiError> thinking_to_chat(const chat::Json& body, chat::Json* chat_body);

chat::Json messages_response(const ChatPlan& plan, const Generation& g, const std::string& id);

// Streaming: turns events into Anthropic SSE events, tracking the open content block.
struct MessagesStream {
  const ChatPlan* plan = nullptr;
  std::string id;
  bool started = false;
  int open_index = -1;    // index of the open content block, -1 if none
  std::string open_kind;  // "thinking", "text", "tool_use"
  int next_index = 0;
  std::string events(const Generation& g, const std::vector<GenerationEvent>& ev);
};

}  // namespace onprem::api
