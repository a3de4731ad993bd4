// An Anthropic Messages body as an OpenAI chat body: the one translation, used by `serve` (which
// plans every chat from that shape) and by the router (for OpenAI-compatible backends). It is
// validated as Anthropic's API validates it, so errors name the client's own fields.
//
// The chat body is the official API's form: tool arguments as JSON text, images as image_url
// parts (a data: URL for base64 sources), tool results as role "tool" messages before the rest of
// their user turn, system messages where they stand (Claude Code sends them mid-conversation).
#pragma once

#include <optional>

#include "protocol/errors.h"

namespace onprem::protocol {

struct AnthropicToChat {
  bool count_only = false;  // /v1/messages/count_tokens: max_tokens is not required
  // onprem's extensions (preset, loop_guard, thinking_budget, ...) are copied for `serve`; a
  // chat body for another server carries only what its API defines.
  bool onprem_extensions = true;
};

std::optional<ApiError> anthropic_to_chat(const Json& body, const AnthropicToChat& how, Json* chat);

// The text of a content value: a string, or the concatenated text blocks of an array.
std::string anthropic_text(const Json& content);

}  // namespace onprem::protocol
