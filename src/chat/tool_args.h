// Converting tool-call parameter values (text between <parameter=K> and </parameter>) to JSON by
// the tool's JSON schema, as chat.md §4 describes (vLLM's qwen3_coder rules), plus anyOf / type
// lists: non-string alternatives are tried first, then string.
#pragma once

#include <string>

#include "chat/pyjson.h"

namespace onprem::chat {

// The schema of parameter `key` of function `name` in an OpenAI `tools` array; null if unknown.
const Json* parameter_schema(const Json& tools, const std::string& name, const std::string& key);
bool tool_known(const Json& tools, const std::string& name);

// value: the raw text with one leading and one trailing newline already removed.
Json convert_parameter(const std::string& value, const Json* schema);

// Python-literal parsing (ast.literal_eval for str/int/float/bool/None/list/dict/tuple); false if
// the text is not such a literal.
bool parse_python_literal(const std::string& text, Json* out);

}  // namespace onprem::chat
