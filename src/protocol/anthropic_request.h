// An Anthropic Messages body as a ChatRequest: the one reading of that API, used by `serve` and by
// the router (for OpenAI-compatible backends). It is validated as Anthropic's API validates it, so
// errors name the client's own fields. Where the API leaves a choice, the official API's reading
// is taken: tool results become role "tool" messages before the rest of their user turn, images
// keep their URL (a data: URL for base64 sources), system messages stay where they stand (Claude
// Code sends them mid-conversation).
#pragma once

#include <optional>

#include "protocol/chat_request.h"
#include "protocol/errors.h"

namespace onprem::protocol {

struct AnthropicParse {
  bool count_only = false;  // /v1/messages/count_tokens: max_tokens is not required
};

std::optional<ApiError> parse_anthropic(const Json& body, const AnthropicParse& how, ChatRequest* out);

// The text of a content value: a string, or the concatenated text blocks of an array.
std::string anthropic_text(const Json& content);

}  // namespace onprem::protocol
