// Values of the Jinja interpreter with Python's semantics: truthiness, ==, str() and repr(), and
// the conversions from and to JSON.
#include <cmath>
#include <cstdio>

#include "chat/jinja_ast.h"

namespace onprem::chat::jinja {

using K = Value::Kind;

const Value* Value::find(const std::string& key) const {
  if (!dict) return nullptr;
  for (const auto& [k, v] : *dict)
    if (k == key) return &v;
  return nullptr;
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case K::kUndefined:
    case K::kNone:
      return false;
    case K::kBool:
      return v.b;
    case K::kInt:
      return v.i != 0;
    case K::kFloat:
      return v.f != 0;
    case K::kString:
      return !v.s.empty();
    case K::kList:
      return !v.list->empty();
    case K::kDict:
      return !v.dict->empty();
    case K::kNamespace:
    case K::kFunction:
      return true;
  }
  return false;
}

bool equal(const Value& a, const Value& b) {
  if (a.number() && b.number()) {
    if (a.kind != K::kFloat && b.kind != K::kFloat)
      return (a.is(K::kBool) ? int64_t(a.b) : a.i) == (b.is(K::kBool) ? int64_t(b.b) : b.i);
    return a.as_double() == b.as_double();
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case K::kUndefined:
    case K::kNone:
      return true;
    case K::kString:
      return a.s == b.s;
    case K::kList: {
      if (a.list->size() != b.list->size()) return false;
      for (size_t i = 0; i < a.list->size(); ++i)
        if (!equal((*a.list)[i], (*b.list)[i])) return false;
      return true;
    }
    case K::kDict: {
      if (a.dict->size() != b.dict->size()) return false;
      for (const auto& [k, v] : *a.dict) {
        const Value* o = b.find(k);
        if (!o || !equal(v, *o)) return false;
      }
      return true;
    }
    default:
      return a.dict == b.dict && a.fn == b.fn;  // namespaces and functions: identity
  }
}

namespace {

std::string repr_string(const std::string& s) {
  const bool single = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
  const char q = single ? '"' : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == static_cast<unsigned char>(q))
      out += '\\', out += char(c);
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out + q;
}

std::string join_repr(const Value& v) {
  std::string out;
  if (v.is(K::kList)) {
    out = "[";
    for (size_t i = 0; i < v.list->size(); ++i) out += (i ? ", " : "") + repr((*v.list)[i]);
    return out + "]";
  }
  out = "{";
  bool first = true;
  for (const auto& [k, x] : *v.dict) {
    out += (first ? "" : ", ") + repr_string(k) + ": " + repr(x);
    first = false;
  }
  return out + "}";
}

}  // namespace

std::string repr(const Value& v) {
  switch (v.kind) {
    case K::kString:
      return repr_string(v.s);
    case K::kList:
    case K::kDict:
      return join_repr(v);
    default:
      return str(v);
  }
}

std::string str(const Value& v) {
  switch (v.kind) {
    case K::kUndefined:
      return "";
    case K::kNone:
      return "None";
    case K::kBool:
      return v.b ? "True" : "False";
    case K::kInt:
      return std::to_string(v.i);
    case K::kFloat:
      if (std::isnan(v.f)) return "nan";
      if (std::isinf(v.f)) return v.f > 0 ? "inf" : "-inf";
      return py_float_repr(v.f);
    case K::kString:
      return v.s;
    case K::kList:
    case K::kDict:
      return join_repr(v);
    case K::kNamespace:
      return "<Namespace " + join_repr(Value::of_dict(*v.dict)) + ">";
    case K::kFunction:
      return "<function>";
  }
  return "";
}

Value from_json(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return Value::none();
    case Json::value_t::boolean:
      return Value::boolean(j.get<bool>());
    case Json::value_t::number_integer:
      return Value::integer(j.get<int64_t>());
    case Json::value_t::number_unsigned:
      return Value::integer(int64_t(j.get<uint64_t>()));
    case Json::value_t::number_float:
      return Value::real(j.get<double>());
    case Json::value_t::string:
      return Value::string(j.get<std::string>());
    case Json::value_t::array: {
      List l;
      for (const auto& x : j) l.push_back(from_json(x));
      return Value::of_list(std::move(l));
    }
    case Json::value_t::object: {
      Dict d;
      for (auto it = j.begin(); it != j.end(); ++it) d.emplace_back(it.key(), from_json(it.value()));
      return Value::of_dict(std::move(d));
    }
    default:
      return Value();
  }
}

core::Expected<Json> to_json(const Value& v) {
  switch (v.kind) {
    case K::kNone:
      return Json(nullptr);
    case K::kBool:
      return Json(v.b);
    case K::kInt:
      return Json(v.i);
    case K::kFloat:
      return Json(v.f);
    case K::kString:
      return Json(v.s);
    case K::kList: {
      Json a = Json::array();
      for (const Value& x : *v.list) {
        ONPREM_TRY_ASSIGN(e, to_json(x));
        a.push_back(std::move(e));
      }
      return a;
    }
    case K::kDict: {
      Json o = Json::object();
      for (const auto& [k, x] : *v.dict) {
        ONPREM_TRY_ASSIGN(e, to_json(x));
        o[k] = std::move(e);
      }
      return o;
    }
    default:
      return core::make_error(core::ErrorCode::kInvalidArgument,
                              std::string("Object of type ") +
                                  (v.is(K::kUndefined) ? "Undefined" : "namespace or function") +
                                  " is not JSON serializable");
  }
}

}  // namespace onprem::chat::jinja
