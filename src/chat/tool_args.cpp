#include "chat/tool_args.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/json_bounds.h"

namespace onprem::chat {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool starts(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// Strict integer / number parsing of the whole (stripped) text.
bool parse_int(const std::string& t, Json* out) {
  const std::string s = py_strip(t);
  if (s.empty()) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  for (size_t k = i; k < s.size(); ++k)
    if (!std::isdigit(static_cast<unsigned char>(s[k]))) return false;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), nullptr, 10);
  if (errno) return false;
  *out = v;
  return true;
}

bool parse_number(const std::string& t, Json* out) {
  const std::string s = py_strip(t);
  if (s.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  if (v == std::floor(v) && std::fabs(v) < 9.2e18)
    *out = (long long)v;
  else
    *out = v;
  return true;
}

struct LiteralParser {
  const std::string& s;
  size_t i = 0;
  void ws() {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  }
  bool value(Json* out, int depth) {
    if (depth > 64) return false;
    ws();
    if (i >= s.size()) return false;
    const char c = s[i];
    if (c == '\'' || c == '"') return str(out);
    if (c == '[' || c == '(') return seq(out, c == '[' ? ']' : ')', depth);
    if (c == '{') return dict(out, depth);
    for (const char* kw : {"True", "False", "None"}) {
      if (s.compare(i, std::strlen(kw), kw) == 0) {
        i += std::strlen(kw);
        *out = kw[0] == 'T' ? Json(true) : kw[0] == 'F' ? Json(false) : Json();
        return true;
      }
    }
    size_t j = i;
    while (j < s.size() &&
           (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '.' || s[j] == '-' || s[j] == '+'))
      ++j;
    if (j == i) return false;
    Json num;
    const std::string tok = s.substr(i, j - i);
    if (parse_int(tok, &num)) {
      *out = num;
    } else {
      char* end = nullptr;
      const double v = std::strtod(tok.c_str(), &end);
      if (end != tok.c_str() + tok.size()) return false;
      *out = v;
    }
    i = j;
    return true;
  }
  bool str(Json* out) {
    const char q = s[i++];
    std::string v;
    while (i < s.size() && s[i] != q) {
      if (s[i] == '\\' && i + 1 < s.size()) {
        const char e = s[++i];
        v += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
        ++i;
        continue;
      }
      v += s[i++];
    }
    if (i >= s.size()) return false;
    ++i;
    *out = v;
    return true;
  }
  bool seq(Json* out, char close, int depth) {
    ++i;
    *out = Json::array();
    ws();
    if (i < s.size() && s[i] == close) return ++i, true;
    for (;;) {
      Json v;
      if (!value(&v, depth + 1)) return false;
      out->push_back(v);
      ws();
      if (i < s.size() && s[i] == ',') {
        ++i;
        ws();
        if (i < s.size() && s[i] == close) return ++i, true;
        continue;
      }
      if (i < s.size() && s[i] == close) return ++i, true;
      return false;
    }
  }
  bool dict(Json* out, int depth) {
    ++i;
    *out = Json::object();
    ws();
    if (i < s.size() && s[i] == '}') return ++i, true;
    for (;;) {
      Json k, v;
      if (!value(&k, depth + 1) || !k.is_string()) return false;
      ws();
      if (i >= s.size() || s[i] != ':') return false;
      ++i;
      if (!value(&v, depth + 1)) return false;
      (*out)[k.get<std::string>()] = v;
      ws();
      if (i < s.size() && s[i] == ',') {
        ++i;
        ws();
        if (i < s.size() && s[i] == '}') return ++i, true;
        continue;
      }
      if (i < s.size() && s[i] == '}') return ++i, true;
      return false;
    }
  }
};

bool parse_json_or_literal(const std::string& text, Json* out) {
  if (core::json_bounds_error(text)) return false;  // nested past what any parser here may recurse
  try {
    *out = Json::parse(text);
    return true;
  } catch (const Json::exception&) {
  }
  return parse_python_literal(text, out);
}

// One declared type: converted value, or false if this type does not take the text.
bool convert_as(const std::string& value, const std::string& type_name, Json* out) {
  const std::string t = lower(type_name);
  if (t == "string" || t == "str" || t == "text" || t == "varchar" || t == "char" || t == "enum")
    return *out = value, true;
  if (starts(t, "int") || starts(t, "uint") || starts(t, "long") || starts(t, "short") || starts(t, "unsigned"))
    return parse_int(value, out);
  if (starts(t, "num") || starts(t, "float")) return parse_number(value, out);
  if (t == "boolean" || t == "bool" || t == "binary") return *out = lower(py_strip(value)) == "true", true;
  if (t == "null") return false;  // handled by the literal null rule
  if (t == "object" || t == "array" || t == "arr" || starts(t, "dict") || starts(t, "list")) {
    Json v;
    if (!parse_json_or_literal(value, &v)) return false;
    *out = v;
    return true;
  }
  Json v;
  if (core::json_bounds_error(value) || !parse_python_literal(value, &v)) return false;
  *out = v;
  return true;
}

void collect_types(const Json& schema, std::vector<std::string>* types) {
  if (!schema.is_object()) return;
  if (schema.contains("type")) {
    const Json& t = schema["type"];
    if (t.is_string())
      types->push_back(t.get<std::string>());
    else if (t.is_array())
      for (const auto& x : t)
        if (x.is_string()) types->push_back(x.get<std::string>());
  }
  if (schema.contains("enum") && !schema.contains("type")) types->push_back("enum");
  for (const char* k : {"anyOf", "oneOf"})
    if (schema.contains(k) && schema[k].is_array())
      for (const auto& sub : schema[k]) collect_types(sub, types);
}

}  // namespace

bool parse_python_literal(const std::string& text, Json* out) {
  LiteralParser p{text};
  Json v;
  if (!p.value(&v, 0)) return false;
  p.ws();
  if (p.i != text.size()) return false;
  *out = v;
  return true;
}

const Json* parameter_schema(const Json& tools, const std::string& name, const std::string& key) {
  if (!tools.is_array()) return nullptr;
  for (const auto& t : tools) {
    const Json& fn = t.is_object() && t.contains("function") ? t["function"] : t;
    if (!fn.is_object() || !fn.contains("name") || fn["name"] != name) continue;
    if (!fn.contains("parameters") || !fn["parameters"].is_object()) return nullptr;
    const Json& params = fn["parameters"];
    if (!params.contains("properties") || !params["properties"].is_object()) return nullptr;
    const Json& props = params["properties"];
    if (!props.contains(key)) return nullptr;
    return &props[key];
  }
  return nullptr;
}

bool tool_known(const Json& tools, const std::string& name) {
  if (!tools.is_array()) return false;
  for (const auto& t : tools) {
    const Json& fn = t.is_object() && t.contains("function") ? t["function"] : t;
    if (fn.is_object() && fn.contains("name") && fn["name"] == name) return true;
  }
  return false;
}

Json convert_parameter(const std::string& value, const Json* schema) {
  if (lower(py_strip(value)) == "null") return Json();
  if (!schema) return value;
  std::vector<std::string> types;
  collect_types(*schema, &types);
  if (types.empty()) return value;
  // Non-string alternatives first, so anyOf [string, integer] still turns "5" into 5.
  std::stable_partition(types.begin(), types.end(), [](const std::string& t) {
    const std::string l = lower(t);
    return !(l == "string" || l == "str" || l == "text" || l == "varchar" || l == "char" || l == "enum");
  });
  if (types.size() == 1) {
    Json out;
    return convert_as(value, types[0], &out) ? out : Json(value);
  }
  for (const auto& t : types) {
    Json out;
    const std::string l = lower(t);
    // In a union, a boolean must really be spelled true/false.
    if ((l == "boolean" || l == "bool") && lower(py_strip(value)) != "true" && lower(py_strip(value)) != "false")
      continue;
    if (convert_as(value, t, &out)) return out;
  }
  return value;
}

}  // namespace onprem::chat
