// A ChatRequest written out as an OpenAI Chat Completions body: for an OpenAI-compatible backend
// (the router), and, through its messages and tools, for the chat template, which takes exactly
// that shape.
#pragma once

#include "protocol/chat_request.h"

namespace onprem::protocol {

struct ChatBodyOptions {
  // onprem's extensions (preset, loop_guard, thinking_budget, ...) are written for onprem; a body
  // for another server carries only what its API (and Qwen's chat_template_kwargs) defines.
  bool onprem_extensions = true;
};

// [{role, content (a string when it is text only, else parts), reasoning_content?, tool_calls?,
// tool_call_id?, name?}]
Json chat_messages(const std::vector<Message>& messages);
// [{"type": "function", "function": {name, parameters, description?}}], or each OpenAI client's
// definition as it wrote it.
Json chat_tools(const std::vector<Tool>& tools);
Json chat_body(const ChatRequest& request, const ChatBodyOptions& options = {});

// A float as the decimal it was read from: 0.3f is written 0.3, not 0.30000001192092896.
Json float_json(float v);

}  // namespace onprem::protocol
