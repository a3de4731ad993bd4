// An OpenAI Responses body (POST /v1/responses, as Codex sends it) as a ChatRequest. Hosted tools
// (web_search, file_search, ...) are dropped, since no server of ours can run them. Namespace tools
// are flattened: `namespaces` gets {tool name: namespace}, which the output puts back on each call
// to them (Codex dispatches a call by its namespace and refuses one without it). Nothing is
// stored, so previous_response_id is refused.
#pragma once

#include <optional>

#include "protocol/chat_request.h"
#include "protocol/errors.h"

namespace onprem::protocol {

std::optional<ApiError> parse_responses(const Json& body, ChatRequest* out, Json* namespaces);

}  // namespace onprem::protocol
