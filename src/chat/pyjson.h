// Python's spellings of JSON values, which the Qwen chat template's output depends on:
// json.dumps(x, ensure_ascii=False) (Hugging Face's `tojson`), str(x) (Jinja's `string` filter)
// and str.strip() (Jinja's `trim`).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace onprem::chat {

using Json = nlohmann::ordered_json;

// json.dumps(v, ensure_ascii=False): ", " and ": " separators, keys in their given order.
std::string py_json_dumps(const Json& v);
// str(v): strings as they are, True/False/None, Python float repr.
std::string py_str(const Json& v);
// repr(float): shortest round-trip digits, exponent form below 1e-4 and from 1e16.
std::string py_float_repr(double d);
// str.strip() with Python's Unicode whitespace.
std::string py_strip(std::string_view s);
std::string py_lstrip_chars(std::string_view s, char c);  // str.lstrip(c)
std::string py_rstrip_chars(std::string_view s, char c);  // str.rstrip(c)

}  // namespace onprem::chat
