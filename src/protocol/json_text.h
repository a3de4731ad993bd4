// JSON as it goes on the wire, written in one place: compact, and any invalid UTF-8 a string
// picked up (from a model's bytes or a client's) replaced rather than thrown on.
#pragma once

#include <string>

#include "chat/pyjson.h"

namespace onprem::protocol {

using chat::Json;

std::string json_text(const Json& j);
// Server-sent events: "event: NAME\ndata: {...}\n\n" (Anthropic, Responses) and "data: {...}\n\n"
// (OpenAI chat and completions).
std::string sse_event(const std::string& name, const Json& data);
std::string sse_data(const Json& data);

// A string field of an object as it is read from a client's or a backend's body: "" when the
// value is not an object, the field is missing or it is not a string.
std::string string_field(const Json& j, const char* key);

}  // namespace onprem::protocol
