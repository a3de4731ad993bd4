// Bounds on a request body's JSON, checked on the raw text in one linear pass before it is
// parsed. nlohmann's parser recurses once per nesting level (100,000 levels overflow the stack)
// and inserts each key of an ordered_json object in time linear in the object's size (200,000
// keys take seconds, quadratically more after), so a body past these bounds is refused instead.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace onprem::core {

struct JsonLimits {
  int max_depth = 64;                  // objects and arrays inside each other
  size_t max_keys_per_object = 10000;  // ordered_json insertion is linear in this
  size_t max_keys_total = 200000;
};

// Why `text` exceeds the limits ("nests deeper than 64 levels"), or nothing. Malformed JSON that
// stays within bounds passes: the parser reports it.
std::optional<std::string> json_bounds_error(std::string_view text, const JsonLimits& limits = {});

}  // namespace onprem::core
