// What the policy looks at: one struct of request features, read from an OpenAI chat body or an
// Anthropic messages body, the router headers and the caller's key.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "chat/pyjson.h"
#include "router/router_config.h"
#include "router/pii.h"

namespace onprem::router {

enum class ApiShape { kOpenAI, kAnthropic };

struct RequestFeatures {
  ApiShape shape = ApiShape::kOpenAI;
  std::string model;          // as the client asked
  int64_t prompt_tokens = 0;  // counted (tokenizer) or estimated
  bool prompt_tokens_counted = false;
  int64_t output_tokens = 0;   // max_tokens / max_completion_tokens (0 if unset)
  int64_t context_tokens = 0;  // prompt + output
  bool tools = false, thinking = false, stream = false;
  std::string tool_choice = "auto";  // auto, none, required, named (Anthropic any = required, tool = named)
  std::string latency = "interactive";
  std::string workload, team, user, key_name;
  DataClass declared_class = DataClass::kInternal;  // key default raised by header / metadata
  DataClass data_class = DataClass::kInternal;      // declared, raised by the detector
  std::vector<PiiFinding> pii;                      // over every field of the body, decoded and normalised (pii_scan.h)
  std::string uninspectable;                        // why the guard could not read the whole body: it stays on premises
  std::string error;                                // a 400 for the client (an unknown data class label)
  std::string affinity;                             // conversation key: hash of system + first user turn
  std::string text;                                 // all request text (for the detector and counting)
};

// Lower-cased header name -> value.
using HeaderMap = std::map<std::string, std::string>;

// count: exact prompt tokens of a text, or empty to estimate (~4 bytes per token for ASCII, one
// per other code point, plus 4 per message).
using TokenCounter = std::function<int64_t(std::string_view)>;

RequestFeatures extract_features(const chat::Json& body, ApiShape shape, const HeaderMap& headers, const KeyConfig* key,
                                 const TokenCounter& count);

int64_t estimate_tokens(std::string_view text);

}  // namespace onprem::router
