// A Jinja interpreter for chat templates: the subset Hugging Face chat templates use, rendered as
// transformers' apply_chat_template renders them with python3-jinja2 (a sandboxed environment
// with trim_blocks, lstrip_blocks and loop controls; `tojson` as json.dumps(ensure_ascii=False);
// `raise_exception`). Values follow Python's semantics (str(), truthiness, ==, slicing by code
// point), since a template's output depends on them.
//
// Covered: text, {{ }}, {% if/elif/else %}, {% for %} (tuple targets, `if` filter, `else`,
// loop.index/index0/revindex/revindex0/first/last/length/previtem/nextitem, break/continue),
// {% set %} (names, namespace attributes, blocks), {% macro %} with defaults, {% generation %};
// expressions with Jinja's precedence, filters (tojson with indent, trim, length/count, items, safe, string,
// list, join, default/d, first, last, lower, upper, replace, int, float, abs, unique, map(attribute),
// select/rejectattr with a test), tests (defined, undefined, none, string, number, integer,
// float, boolean, mapping, iterable, sequence, true, false, eq, in, odd, even), string and dict
// methods (startswith, endswith, split, strip/lstrip/rstrip, replace, upper, lower, title, find,
// count, items, keys, values, get), globals namespace(), range(), dict(), raise_exception().
// Anything else is an error naming it, when the template is parsed or when it runs. A template
// comes with a model file, so what it may cost is bounded: nesting (200 levels), statements run
// (1 million), macro depth (64), string and list sizes, and the bytes built in one render.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "chat/pyjson.h"
#include "core/status.h"

namespace onprem::chat::jinja {

struct Program;  // a parsed template

class Template {
 public:
  // Parses; a syntax error names its line.
  static core::Expected<Template> parse(std::string_view source);
  // Renders with the variables of `context` (a JSON object). Errors: the template's own
  // raise_exception message, or what went wrong and where.
  core::Expected<std::string> render(const Json& context) const;

 private:
  std::shared_ptr<const Program> program_;
};

}  // namespace onprem::chat::jinja
