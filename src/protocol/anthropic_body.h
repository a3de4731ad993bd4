// A ChatRequest written out as an Anthropic Messages body, for the router's Anthropic backends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "protocol/chat_request.h"

namespace onprem::protocol {

// `model` replaces the request's when not empty; `default_max_tokens` stands in for a missing
// max_tokens, which Anthropic requires. Errors name the field that cannot be written.
std::optional<std::string> anthropic_body(const ChatRequest& request, const std::string& model,
                                          int64_t default_max_tokens, Json* out);

}  // namespace onprem::protocol
