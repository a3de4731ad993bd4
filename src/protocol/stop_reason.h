// How a generation ended, in each API's words. The engine's reasons are stop, length, tool_calls,
// repetition (the loop guard) and error. Neither API has a word for the loop guard: it is reported
// as running out of tokens, with "onprem_stop": "loop_guard" beside it (loop_guard_field).
#pragma once

#include <string>
#include <string_view>

namespace onprem::protocol {

// OpenAI finish_reason: stop, length, tool_calls, content_filter (repetition is length; error
// stays error).
std::string openai_finish_reason(std::string_view reason);
// Anthropic stop_reason: end_turn, max_tokens, tool_use, refusal (repetition is max_tokens), and
// stop_sequence for a stop that a stop string made (its text given).
std::string anthropic_stop_reason(std::string_view reason, std::string_view stop_sequence = {});
// An Anthropic stop_reason read back as a reason of the list above (a backend's, in the router).
std::string reason_from_anthropic(std::string_view stop_reason);

inline constexpr const char* kStopDetailField = "onprem_stop";
inline constexpr const char* kLoopGuardStop = "loop_guard";

}  // namespace onprem::protocol
