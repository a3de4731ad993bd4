// Thinking (reasoning) requests, in each API's words, as a ChatRequest's Thinking.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "protocol/chat_request.h"
#include "protocol/errors.h"

namespace onprem::protocol {

// The thinking budget of a reasoning effort, the same for every API: low 1,024, medium 4,096,
// high 16,384 tokens; the API's own name for its top level (Anthropic "max", Responses "xhigh")
// sets none (-1). nullopt for any other name.
std::optional<int64_t> effort_thinking_budget(std::string_view effort, std::string_view unlimited);

// Anthropic's `thinking`: absent or {"type": "disabled"} = off; "enabled" with budget_tokens;
// "adaptive" with the budget of output_config.effort (high when absent, "max" = none). Anything
// else is refused in Anthropic's wording.
std::optional<ApiError> anthropic_thinking(const Json& body, Thinking* out);

}  // namespace onprem::protocol
