// Between the two API shapes, for backends that speak only one: an OpenAI chat request sent to the
// Anthropic Messages API (and its response and stream back), and an Anthropic messages request
// sent to an OpenAI-compatible server (vLLM, SGLang, llama-server). Streams are converted event
// by event, nothing buffered beyond one event.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "protocol/usage.h"

namespace onprem::protocol {

// A backend's usage as the router reads it (the ledger records input and output); seen is false
// until the backend has reported any.
struct Usage {
  int64_t input = 0, cached = 0, output = 0;  // input counts the cached tokens too
  bool seen = false;
  void set(const TokenUsage& u) { input = u.prompt, cached = u.cached, output = u.completion, seen = true; }
  TokenUsage tokens() const { return {input, cached, output}; }
};

// OpenAI chat body -> Anthropic messages body. Errors name the field that cannot be translated.
std::optional<std::string> openai_to_anthropic_request(const Json& chat, const std::string& model,
                                                       int64_t default_max_tokens, Json* out);
Json anthropic_to_openai_response(const Json& msg, const std::string& model, Usage* usage);

// Anthropic messages body -> OpenAI chat body (anthropic_to_chat, without onprem's
// extensions, for the backend's model and with usage asked of its stream).
std::optional<std::string> anthropic_to_openai_request(const Json& msg, const std::string& model, Json* out);
Json openai_to_anthropic_response(const Json& chat, const std::string& model, Usage* usage);

// Anthropic SSE events -> OpenAI chat.completion.chunk SSE text.
struct AnthropicToOpenAIStream {
  std::string id, model;
  int64_t created = 0;
  bool include_usage = false;
  Usage usage;
  int tool_index = -1;  // OpenAI index of the current tool call
  std::string finish = "stop";
  std::string on_event(const std::string& name, const Json& data);
};

// OpenAI chat.completion.chunk SSE data -> Anthropic SSE events.
struct OpenAIToAnthropicStream {
  std::string id, model;
  Usage usage;
  bool started = false, stopped = false;
  int open_index = -1, next_index = 0;
  std::string open_kind;  // thinking, text, tool_use
  int open_tool = -1;     // OpenAI tool-call index of the open tool_use block
  std::string stop_reason = "end_turn";
  std::string on_data(const std::string& data);  // one "data:" payload ("[DONE]" ends the message)
  std::string finish();                          // closes whatever is open (idempotent)
};

}  // namespace onprem::protocol
