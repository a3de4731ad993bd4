// Token counts in each API's usage object. OpenAI counts the whole prompt and says how much of it
// the prefix cache supplied; Anthropic counts the freshly computed part as input_tokens beside
// cache_read_input_tokens, and clients add the two (cache creation is always 0 here).
#pragma once

#include <cstdint>

#include "chat/pyjson.h"

namespace onprem::protocol {

using chat::Json;

struct TokenUsage {
  int64_t prompt = 0;      // every prompt token, cached or not
  int64_t cached = 0;      // of those, supplied by the prefix cache
  int64_t completion = 0;  // generated tokens
};

Json openai_usage(const TokenUsage& u);     // chat and completions
Json responses_usage(const TokenUsage& u);  // the Responses API
Json anthropic_usage(const TokenUsage& u);

// Read back from a backend's response (the router); a missing field counts 0.
TokenUsage usage_from_openai(const Json& usage);
TokenUsage usage_from_anthropic(const Json& usage);

}  // namespace onprem::protocol
