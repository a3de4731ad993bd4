// Python's spellings of JSON values, which the Qwen chat template's output depends on:
// json.dumps(x, ensure_ascii=False) (Hugging Face's `tojson`), str(x) (Jinja's `string` filter)
// and str.strip() (Jinja's `trim`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace onprem::chat {

using Json = nlohmann::ordered_json;

// json.dumps(v, ensure_ascii=False): ", " and ": " separators, keys in their given order; with
// indent >= 0, json.dumps(..., indent=indent): one item per line, "," and ": ".
std::string py_json_dumps(const Json& v, int indent = -1);
// str(v): strings as they are, True/False/None, Python float repr.
std::string py_str(const Json& v);
// bool(v): false for null, false, 0, "" and empty arrays and objects.
bool py_truthy(const Json& v);
// repr(float): shortest round-trip digits, exponent form below 1e-4 and from 1e16.
std::string py_float_repr(double d);
// str.strip() with Python's Unicode whitespace.
std::string py_strip(std::string_view s);
std::string py_lstrip_chars(std::string_view s, char c);  // str.lstrip(c)
std::string py_rstrip_chars(std::string_view s, char c);  // str.rstrip(c)
// Python's str.isspace() for one code point, and the code point at byte i of UTF-8 text (its
// length in *len).
bool py_space(uint32_t cp);
uint32_t utf8_at(std::string_view s, size_t i, size_t* len);

}  // namespace onprem::chat
