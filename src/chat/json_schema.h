// JSON Schema -> grammar (compact JSON, no whitespace), and the tool-call XML grammar for a
// required or named tool_choice. Supported: type (and type lists), properties + required
// (properties emitted in schema order), items, minItems / maxItems, enum, const, anyOf / oneOf,
// string minLength / maxLength, "minimum >= 0" (no minus sign), nested schemas. Not enforced:
// pattern, format, other numeric bounds, $ref. Unbounded strings, arrays and numbers are capped
// (options) so that constrained generation always terminates with a complete value.
#pragma once

#include "chat/grammar.h"
#include "chat/pyjson.h"

namespace onprem::chat {

struct SchemaGrammarOptions {
  int max_string = 48;  // bytes of string content when the schema sets no maxLength
  int max_items = 6;    // array length when the schema sets no maxItems
  int max_digits = 9;   // integer digits
  int max_depth = 3;    // nesting of schema-less "any JSON" values
};

core::Expected<Grammar> grammar_from_schema(const Json& schema, const SchemaGrammarOptions& o = {});

// <tool_call>\n<function=NAME>\n(<parameter=K>\nVALUE\n</parameter>\n)*</function>\n</tool_call>
// for one named function or any of `tools` (name empty). Parameter values follow each
// property's schema (strings: text without '<').
core::Expected<Grammar> grammar_for_tool_call(const Json& tools, const std::string& name,
                                              const SchemaGrammarOptions& o = {});

}  // namespace onprem::chat
