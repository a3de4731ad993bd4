#include "protocol/stop_reason.h"

namespace onprem::protocol {

std::string openai_finish_reason(std::string_view reason) {
  if (reason == "repetition") return "length";
  // "error" is not OpenAI's, but an engine error must never read as a normal end.
  if (reason == "tool_calls" || reason == "length" || reason == "content_filter" || reason == "error")
    return std::string(reason);
  return "stop";
}

std::string anthropic_stop_reason(std::string_view reason, std::string_view stop_sequence) {
  if (reason == "stop" && !stop_sequence.empty()) return "stop_sequence";
  if (reason == "tool_calls") return "tool_use";
  if (reason == "length" || reason == "repetition") return "max_tokens";
  if (reason == "content_filter") return "refusal";
  return "end_turn";
}

std::string reason_from_anthropic(std::string_view stop_reason) {
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "max_tokens") return "length";
  if (stop_reason == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn
}

}  // namespace onprem::protocol
