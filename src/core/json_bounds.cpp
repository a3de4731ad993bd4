#include "core/json_bounds.h"

#include <vector>

namespace onprem::core {

std::optional<std::string> json_bounds_error(std::string_view text, const JsonLimits& limits) {
  // One counter per open container: keys seen so far for an object, unused for an array.
  std::vector<size_t> keys;
  std::vector<bool> is_object;
  keys.reserve(size_t(limits.max_depth) + 1);
  size_t total = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '{':
      case '[':
        if (int(keys.size()) >= limits.max_depth)
          return "the request body nests deeper than " + std::to_string(limits.max_depth) + " levels";
        keys.push_back(0);
        is_object.push_back(c == '{');
        break;
      case '}':
      case ']':
        if (!keys.empty()) keys.pop_back(), is_object.pop_back();
        break;
      case ':':  // outside strings, only between a key and its value
        if (!keys.empty() && is_object.back()) {
          if (++keys.back() > limits.max_keys_per_object)
            return "an object of the request body has more than " + std::to_string(limits.max_keys_per_object) +
                   " keys";
          if (++total > limits.max_keys_total)
            return "the request body has more than " + std::to_string(limits.max_keys_total) + " keys";
        }
        break;
      default:
        break;
    }
  }
  return std::nullopt;
}

}  // namespace onprem::core
