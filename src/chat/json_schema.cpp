#include "chat/json_schema.h"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

namespace onprem::chat {

using core::ErrorCode;
using core::make_error;

namespace {

using G = Grammar;

struct Compiler {
  static constexpr int kMaxSchemas = 4096;  // sub-schemas compiled in one request (tools included)
  int schemas = 0;
  Grammar g;
  SchemaGrammarOptions o;
  int string_char = -1, digits_rule = -1;
  int counter = 0;

  int rule(const std::string& name) { return g.add_rule(name + "_" + std::to_string(counter++)); }

  // One JSON string character: unescaped UTF-8 (no '"', '\\' or control bytes) or an escape.
  int str_char() {
    if (string_char >= 0) return string_char;
    string_char = rule("char");
    GrammarElement ascii = G::byte_range(0x20, 0x7e);
    ascii.bits[0x22 >> 6] &= ~(uint64_t(1) << (0x22 & 63));
    ascii.bits[0x5c >> 6] &= ~(uint64_t(1) << (0x5c & 63));
    const auto cont = G::byte_range(0x80, 0xbf);
    g.add_alt(string_char, {ascii});
    g.add_alt(string_char, {G::byte_range(0xc2, 0xdf), cont});
    g.add_alt(string_char, {G::byte_range(0xe1, 0xec), cont, cont});
    g.add_alt(string_char, {G::byte_range(0xee, 0xef), cont, cont});
    g.add_alt(string_char, {G::byte_range(0xe0, 0xe0), G::byte_range(0xa0, 0xbf), cont});
    g.add_alt(string_char, {G::byte_range(0xed, 0xed), G::byte_range(0x80, 0x9f), cont});
    g.add_alt(string_char, {G::byte_range(0xf0, 0xf0), G::byte_range(0x90, 0xbf), cont, cont});
    g.add_alt(string_char, {G::byte_range(0xf1, 0xf3), cont, cont, cont});
    g.add_alt(string_char, {G::byte_range(0xf4, 0xf4), G::byte_range(0x80, 0x8f), cont, cont});
    GrammarAlt esc = G::literal("\\");
    esc.push_back(G::byte_set("\"\\/bfnrt"));
    g.add_alt(string_char, esc);
    return string_char;
  }

  // `min` mandatory then up to `max - min` optional copies of element rule `item`.
  int bounded(int item, int min, int max, const std::string& name) {
    int tail = rule(name + "_tail");
    g.add_alt(tail, {});
    for (int k = 0; k < max - min; ++k) {  // tail_k := "" | item tail_{k-1}
      const int r = rule(name + "_opt");
      g.add_alt(r, {});
      g.add_alt(r, {G::ref(item), G::ref(tail)});
      tail = r;
    }
    const int r = rule(name);
    GrammarAlt alt;
    for (int k = 0; k < min; ++k) alt.push_back(G::ref(item));
    alt.push_back(G::ref(tail));
    g.add_alt(r, alt);
    return r;
  }

  int string_rule(const Json& s) {
    const int min = s.is_object() && s.contains("minLength") && s["minLength"].is_number_unsigned()
                        ? int(s["minLength"].get<uint64_t>())
                        : 0;
    int max = s.is_object() && s.contains("maxLength") && s["maxLength"].is_number_unsigned()
                  ? int(s["maxLength"].get<uint64_t>())
                  : o.max_string;
    max = std::max(min, std::min(max, 256));
    const int body = bounded(str_char(), min, max, "string_body");
    const int r = rule("string");
    GrammarAlt alt = G::literal("\"");
    alt.push_back(G::ref(body));
    alt.push_back(G::byte_set("\""));
    g.add_alt(r, alt);
    return r;
  }

  int integer_rule(bool non_negative) {
    if (digits_rule < 0) digits_rule = bounded(digit_rule(), 0, o.max_digits - 1, "digits");
    const int r = rule("integer");
    for (bool neg : {false, true}) {
      if (neg && non_negative) continue;
      GrammarAlt zero = neg ? G::literal("-0") : G::literal("0");
      g.add_alt(r, zero);
      GrammarAlt nz = neg ? G::literal("-") : GrammarAlt{};
      nz.push_back(G::byte_range('1', '9'));
      nz.push_back(G::ref(digits_rule));
      g.add_alt(r, nz);
    }
    return r;
  }

  int digit_rule() {
    const int r = rule("digit");
    g.add_alt(r, {G::byte_range('0', '9')});
    return r;
  }

  int number_rule(bool non_negative) {
    const int integer = integer_rule(non_negative);
    const int frac_digits = bounded(digit_rule(), 1, 6, "fraction");
    const int frac = rule("frac");
    g.add_alt(frac, {});
    GrammarAlt dot = G::literal(".");
    dot.push_back(G::ref(frac_digits));
    g.add_alt(frac, dot);
    const int r = rule("number");
    g.add_alt(r, {G::ref(integer), G::ref(frac)});
    return r;
  }

  int literal_rule(const std::string& text) {
    const int r = rule("literal");
    g.add_alt(r, G::literal(text));
    return r;
  }

  // Compact JSON text of a constant (json.dumps with no spaces).
  static std::string compact(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }

  core::Expected<int> any_value(int depth) {
    const int r = rule("any");
    for (int x :
         {literal_rule("null"), literal_rule("true"), literal_rule("false"), number_rule(false), string_rule(Json())})
      g.add_alt(r, {G::ref(x)});
    if (depth < o.max_depth) {
      ONPREM_TRY_ASSIGN(item, any_value(depth + 1));
      g.add_alt(r, {G::ref(array_rule(item, 0, std::min(o.max_items, 3)))});
      const int kv = rule("any_member");
      GrammarAlt m = {G::ref(string_rule(Json()))};
      m.push_back(G::byte_set(":"));
      m.push_back(G::ref(item));
      g.add_alt(kv, m);
      g.add_alt(r, {G::ref(list_rule(kv, "{", "}", 0, std::min(o.max_items, 3)))});
    }
    return r;
  }

  int list_rule(int item, const std::string& open, const std::string& close, int min, int max) {
    const int r = rule("list");
    for (int n = min; n <= max; ++n) {
      GrammarAlt alt = G::literal(open);
      for (int k = 0; k < n; ++k) {
        if (k) alt.push_back(G::byte_set(","));
        alt.push_back(G::ref(item));
      }
      for (auto e : G::literal(close)) alt.push_back(e);
      g.add_alt(r, alt);
    }
    return r;
  }

  int array_rule(int item, int min, int max) { return list_rule(item, "[", "]", min, std::max(min, max)); }

  core::Expected<int> object_rule(const Json& s, int depth) {
    const Json props = s.contains("properties") && s["properties"].is_object() ? s["properties"] : Json::object();
    std::vector<std::string> required;
    if (s.contains("required") && s["required"].is_array())
      for (const auto& r : s["required"])
        if (r.is_string()) required.push_back(r.get<std::string>());
    std::vector<std::pair<std::string, int>> members;  // key, value rule
    for (auto it = props.begin(); it != props.end(); ++it) {
      ONPREM_TRY_ASSIGN(v, compile(it.value(), depth + 1));
      members.emplace_back(it.key(), v);
    }
    // tail[i][c]: members i.. with (c = 1) or without a comma before the next one emitted.
    const size_t n = members.size();
    std::vector<std::array<int, 2>> tail(n + 1);
    for (int c = 0; c < 2; ++c) {
      tail[n][size_t(c)] = rule("obj_end");
      g.add_alt(tail[n][size_t(c)], G::literal("}"));
    }
    for (size_t i = n; i-- > 0;) {
      const bool req = std::find(required.begin(), required.end(), members[i].first) != required.end();
      for (int c = 0; c < 2; ++c) {
        const int r = rule("obj_member");
        GrammarAlt alt = c ? G::literal(",") : GrammarAlt{};
        for (auto e : G::literal(compact(Json(members[i].first)) + ":")) alt.push_back(e);
        alt.push_back(G::ref(members[i].second));
        alt.push_back(G::ref(tail[i + 1][1]));
        g.add_alt(r, alt);
        if (!req) g.add_alt(r, {G::ref(tail[i + 1][size_t(c)])});
        tail[i][size_t(c)] = r;
      }
    }
    const int r = rule("object");
    GrammarAlt alt = G::literal("{");
    alt.push_back(G::ref(tail[0][0]));
    g.add_alt(r, alt);
    return r;
  }

  core::Expected<int> typed(const std::string& type, const Json& s, int depth) {
    const bool non_negative = s.contains("minimum") && s["minimum"].is_number() && s["minimum"].get<double>() >= 0;
    if (type == "string") return string_rule(s);
    if (type == "integer") return integer_rule(non_negative);
    if (type == "number") return number_rule(non_negative);
    if (type == "boolean") {
      const int r = rule("boolean");
      g.add_alt(r, G::literal("true"));
      g.add_alt(r, G::literal("false"));
      return r;
    }
    if (type == "null") return literal_rule("null");
    if (type == "object") return object_rule(s, depth);
    if (type == "array") {
      int item;
      if (s.contains("items") && s["items"].is_object()) {
        ONPREM_TRY_ASSIGN(it, compile(s["items"], depth + 1));
        item = it;
      } else {
        ONPREM_TRY_ASSIGN(it, any_value(depth + 1));
        item = it;
      }
      const int min =
          s.contains("minItems") && s["minItems"].is_number_unsigned() ? int(s["minItems"].get<uint64_t>()) : 0;
      int max = s.contains("maxItems") && s["maxItems"].is_number_unsigned() ? int(s["maxItems"].get<uint64_t>())
                                                                             : o.max_items;
      max = std::min(std::max(max, min), 64);
      return array_rule(item, min, max);
    }
    return make_error(ErrorCode::kUnsupported, "JSON Schema type '" + type + "' is not supported");
  }

  // What a schema may ask of the grammar, checked before anything is built: the grammar grows
  // with minLength / minItems (one element per required item) and with enum values, and a
  // request must not be able to make it grow without bound (minLength: 1e9 once took 24 GB).
  static constexpr uint64_t kMaxMinLength = 256, kMaxMinItems = 64, kMaxEnum = 1024;
  static std::optional<core::Error> too_much(const Json& s) {
    for (const auto& [key, cap] :
         {std::pair<const char*, uint64_t>{"minLength", kMaxMinLength}, {"minItems", kMaxMinItems}}) {
      if (!s.contains(key)) continue;
      const Json& v = s[key];
      if (!v.is_number_integer() || (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0))
        return make_error(ErrorCode::kInvalidArgument,
                          std::string("JSON Schema ") + key + " must be a non-negative integer");
      if (v.get<uint64_t>() > cap)
        return make_error(ErrorCode::kUnsupported, std::string("JSON Schema ") + key + " above " + std::to_string(cap) +
                                                       " is not supported for constrained output");
    }
    if (s.contains("enum") && s["enum"].is_array() && s["enum"].size() > kMaxEnum)
      return make_error(ErrorCode::kUnsupported, "JSON Schema enum with more than " + std::to_string(kMaxEnum) +
                                                     " values is not supported for constrained output");
    return std::nullopt;
  }

  core::Expected<int> compile(const Json& s, int depth) {
    if (depth > 32) return make_error(ErrorCode::kUnsupported, "JSON Schema nested deeper than 32 levels");
    if (s.is_boolean())
      return s.get<bool>() ? any_value(depth) : make_error(ErrorCode::kUnsupported, "schema 'false' admits nothing");
    if (!s.is_object()) return make_error(ErrorCode::kInvalidArgument, "a JSON Schema must be an object");
    if (auto e = too_much(s)) return *e;
    if (++schemas > kMaxSchemas)
      return make_error(ErrorCode::kUnsupported,
                        "JSON Schema with more than " + std::to_string(kMaxSchemas) + " sub-schemas");
    if (s.contains("$ref")) return make_error(ErrorCode::kUnsupported, "JSON Schema $ref is not supported");
    if (s.contains("const")) return literal_rule(compact(s["const"]));
    if (s.contains("enum") && s["enum"].is_array()) {
      const int r = rule("enum");
      for (const auto& v : s["enum"]) g.add_alt(r, G::literal(compact(v)));
      if (s["enum"].empty()) return make_error(ErrorCode::kInvalidArgument, "an empty enum admits nothing");
      return r;
    }
    for (const char* k : {"anyOf", "oneOf"}) {
      if (s.contains(k) && s[k].is_array() && !s[k].empty()) {
        const int r = rule(k);
        for (const auto& sub : s[k]) {
          ONPREM_TRY_ASSIGN(x, compile(sub, depth + 1));
          g.add_alt(r, {G::ref(x)});
        }
        return r;
      }
    }
    if (s.contains("type")) {
      const Json& t = s["type"];
      if (t.is_string()) return typed(t.get<std::string>(), s, depth);
      if (t.is_array()) {
        const int r = rule("types");
        for (const auto& x : t) {
          if (!x.is_string()) return make_error(ErrorCode::kInvalidArgument, "\"type\" lists must hold strings");
          ONPREM_TRY_ASSIGN(v, typed(x.get<std::string>(), s, depth));
          g.add_alt(r, {G::ref(v)});
        }
        return r;
      }
    }
    if (s.contains("properties")) return object_rule(s, depth);
    return any_value(depth);
  }
};

}  // namespace

core::Expected<Grammar> grammar_from_schema(const Json& schema, const SchemaGrammarOptions& o) {
  Compiler c;
  c.o = o;
  const int root = c.g.add_rule("root");
  ONPREM_TRY_ASSIGN(v, c.compile(schema, 0));
  c.g.add_alt(root, {Grammar::ref(v)});
  return std::move(c.g);
}

core::Expected<Grammar> grammar_for_tool_call(const Json& tools, const std::string& name,
                                              const SchemaGrammarOptions& o) {
  Compiler c;
  c.o = o;
  const int root = c.g.add_rule("root");
  if (!tools.is_array() || tools.empty()) return make_error(ErrorCode::kInvalidArgument, "tool_choice needs tools");
  // Free text for string parameters: anything but '<' (so </parameter> ends it).
  const int text_char = c.rule("text_char");
  c.g.add_alt(text_char, {Grammar::byte_not("<")});
  int matched = 0;
  for (const auto& t : tools) {
    const Json& fn = t.is_object() && t.contains("function") ? t["function"] : t;
    if (!fn.is_object() || !fn.contains("name") || !fn["name"].is_string()) continue;
    const std::string fname = fn["name"].get<std::string>();
    if (!name.empty() && fname != name) continue;
    ++matched;
    GrammarAlt alt = Grammar::literal("<tool_call>\n<function=" + fname + ">\n");
    const Json props =
        fn.contains("parameters") && fn["parameters"].is_object() && fn["parameters"].contains("properties")
            ? fn["parameters"]["properties"]
            : Json::object();
    for (auto it = props.begin(); it != props.end(); ++it) {
      const std::string type = it.value().is_object() && it.value().contains("type") && it.value()["type"].is_string()
                                   ? it.value()["type"].get<std::string>()
                                   : "string";
      int value;
      if (type == "string") {
        value = c.bounded(text_char, 1, o.max_string, "text");
      } else {
        ONPREM_TRY_ASSIGN(v, c.compile(it.value(), 1));
        value = v;
      }
      for (auto e : Grammar::literal("<parameter=" + it.key() + ">\n")) alt.push_back(e);
      alt.push_back(Grammar::ref(value));
      for (auto e : Grammar::literal("\n</parameter>\n")) alt.push_back(e);
    }
    for (auto e : Grammar::literal("</function>\n</tool_call>")) alt.push_back(e);
    c.g.add_alt(root, alt);
  }
  if (!matched)
    return make_error(ErrorCode::kNotFound, "tool_choice names '" + name + "', which is not among the tools");
  return std::move(c.g);
}

}  // namespace onprem::chat
