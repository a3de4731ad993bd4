// Anthropic Messages API responses: content blocks and the Messages streaming events. Requests
// become chat bodies in protocol/anthropic_request.h and take the OpenAI path from there.
#pragma once

#include "api/openai.h"

namespace onprem::api {

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
