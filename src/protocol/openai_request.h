// OpenAI Chat Completions and Completions bodies, parsed into a ChatRequest. Every field of the
// wrong type or out of range is a 400 naming that field: `stream: "yes"` is not read as false, nor
// `n: 8589934593` as 1.
#pragma once

#include <optional>

#include "protocol/chat_request.h"
#include "protocol/errors.h"

namespace onprem::protocol {

// /v1/chat/completions
std::optional<ApiError> parse_openai_chat(const Json& body, ChatRequest* out);
// /v1/completions: a raw prompt, no template
std::optional<ApiError> parse_openai_completion(const Json& body, ChatRequest* out);

// The fields the other APIs share with OpenAI's, read the same way: sampling (temperature, top_p,
// top_k, min_p, the penalties, seed, logit_bias; the caller passes only the fields its API has)
// and onprem's extensions (preset, ignore_eos, loop_guard, restore_reasoning, thinking_budget).
std::optional<ApiError> parse_sampling(const Json& body, ChatRequest* out);
std::optional<ApiError> parse_onprem_extensions(const Json& body, ChatRequest* out);

}  // namespace onprem::protocol
