#include "protocol/thinking.h"

namespace onprem::protocol {

std::optional<int64_t> effort_thinking_budget(std::string_view effort, std::string_view unlimited) {
  if (effort == "low") return 1024;
  if (effort == "medium") return 4096;
  if (effort == "high") return 16384;
  if (effort == unlimited) return -1;
  return std::nullopt;
}

std::optional<ApiError> anthropic_thinking(const Json& body, Thinking* out) {
  bool on = false;
  if (body.contains("thinking") && !body["thinking"].is_null()) {
    const Json& t = body["thinking"];
    if (!t.is_object() || !t.contains("type") || !t["type"].is_string())
      return bad_request("thinking: Field required: an object with \"type\" 'disabled', 'enabled' or 'adaptive'",
                         "thinking");
    const std::string type = t["type"].get<std::string>();
    if (type == "enabled") {
      on = true;
      if (t.contains("budget_tokens")) {
        if (!t["budget_tokens"].is_number_integer() || t["budget_tokens"].get<int64_t>() < 0)
          return bad_request("thinking.enabled.budget_tokens: Input should be a valid non-negative integer",
                             "thinking");
        out->budget = t["budget_tokens"].get<int64_t>();
      }
    } else if (type == "adaptive") {
      on = true;
      std::string effort = "high";  // Anthropic's default effort
      if (body.contains("output_config") && body["output_config"].is_object() &&
          body["output_config"].contains("effort")) {
        const Json& e = body["output_config"]["effort"];
        if (!e.is_string() || !effort_thinking_budget(e.get<std::string>(), "max"))
          return bad_request("output_config.effort: Input should be 'low', 'medium', 'high' or 'max'", "output_config");
        effort = e.get<std::string>();
      }
      if (const int64_t b = *effort_thinking_budget(effort, "max"); b > 0) out->budget = b;
    } else if (type != "disabled") {
      return bad_request(
          "thinking: Input tag '" + type +
              "' found using 'type' does not match any of the expected tags: 'disabled', 'enabled', 'adaptive'",
          "thinking");
    }
  }
  out->enabled = on;
  return std::nullopt;
}

}  // namespace onprem::protocol
