// The Jinja evaluator (jinja.h): scopes as jinja2 keeps them (a for loop's body and a macro's body
// assign locally; if does not open a scope; namespaces are shared objects), and the filters,
// tests, methods and globals of the subset.
#include <charconv>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include "chat/jinja_ast.h"

namespace onprem::chat::jinja {

using core::ErrorCode;
using core::make_error;
using K = Value::Kind;

namespace {

core::Error fail(int line, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, "chat template line " + std::to_string(line) + ": " + what);
}

// Python's integers are unbounded and ours have 64 bits: an integer result that does not fit (a
// hostile template's 9 ** 99, or -(-2 ** 63)) is an error, never a wrapped value or undefined
// behaviour. op is '+', '-', '*' or '^' (a power, y >= 0).
std::optional<int64_t> checked(char op, int64_t x, int64_t y) {
  int64_t r = 0;
  if (op == '+') return __builtin_add_overflow(x, y, &r) ? std::nullopt : std::optional<int64_t>(r);
  if (op == '-') return __builtin_sub_overflow(x, y, &r) ? std::nullopt : std::optional<int64_t>(r);
  if (op == '*') return __builtin_mul_overflow(x, y, &r) ? std::nullopt : std::optional<int64_t>(r);
  r = 1;
  for (int64_t base = x, e = y; e > 0; e >>= 1) {  // by squaring; the last squaring is not needed
    if ((e & 1) && __builtin_mul_overflow(r, base, &r)) return std::nullopt;
    if (e > 1 && __builtin_mul_overflow(base, base, &base)) return std::nullopt;
  }
  return r;
}

// UTF-8 code points: the start offset of each, for Python's indexing of str.
std::vector<size_t> code_points(const std::string& s) {
  std::vector<size_t> at;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) at.push_back(i);
  return at;
}
std::string code_point(const std::string& s, const std::vector<size_t>& at, size_t k) {
  const size_t end = k + 1 < at.size() ? at[k + 1] : s.size();
  return s.substr(at[k], end - at[k]);
}
// str.strip / lstrip / rstrip: chars null = whitespace.
std::string py_strip_set(const std::string& s, const Value* chars, bool left, bool right) {
  std::vector<uint32_t> set;
  if (chars && chars->is(K::kString))
    for (size_t i = 0, n; i < chars->s.size(); i += n) set.push_back(utf8_at(chars->s, i, &n));
  auto strip = [&](uint32_t cp) {
    return chars && chars->is(K::kString) ? std::find(set.begin(), set.end(), cp) != set.end() : py_space(cp);
  };
  const auto at = code_points(s);
  size_t b = 0, e = at.size();
  size_t n;
  while (left && b < e && strip(utf8_at(s, at[b], &n))) ++b;
  while (right && e > b && strip(utf8_at(s, at[e - 1], &n))) --e;
  const size_t from = b < at.size() ? at[b] : s.size(), to = e < at.size() ? at[e] : s.size();
  return s.substr(from, to - from);
}

// Python's slice indices for a sequence of n items.
std::vector<int64_t> slice_indices(int64_t n, const Value& start, const Value& stop, const Value& step) {
  const int64_t st = step.is(K::kInt) ? step.i : 1;
  std::vector<int64_t> out;
  if (st == 0) return out;
  auto clamp = [&](const Value& v, int64_t dflt, int64_t lo, int64_t hi) {
    if (!v.is(K::kInt)) return dflt;
    int64_t x = v.i < 0 ? v.i + n : v.i;
    return std::clamp(x, lo, hi);
  };
  if (st > 0) {
    const int64_t a = clamp(start, 0, 0, n), b = clamp(stop, n, 0, n);
    for (int64_t i = a; i < b; i += st) out.push_back(i);
  } else {
    const int64_t a = clamp(start, n - 1, -1, n - 1), b = clamp(stop, -1, -1, n - 1);
    for (int64_t i = a; i > b; i += st) out.push_back(i);
  }
  return out;
}

const Value* kwarg(const Kwargs& kw, const char* name) {
  for (const auto& [k, v] : kw)
    if (k == name) return &v;
  return nullptr;
}
// Argument p (positional) or its keyword name.
const Value* arg(const List& a, const Kwargs& kw, size_t p, const char* name) {
  return p < a.size() ? &a[p] : kwarg(kw, name);
}

List iterate(const Value& v) {
  switch (v.kind) {
    case K::kList:
      return *v.list;
    case K::kDict: {
      List keys;
      for (const auto& [k, x] : *v.dict) keys.push_back(Value::string(k));
      return keys;
    }
    case K::kString: {
      List chars;
      const auto at = code_points(v.s);
      for (size_t k = 0; k < at.size(); ++k) chars.push_back(Value::string(code_point(v.s, at, k)));
      return chars;
    }
    default:
      return {};
  }
}

using Scope = std::map<std::string, Value>;

class Evaluator {
 public:
  explicit Evaluator(const Json& context) {
    for (auto it = context.begin(); it != context.end(); ++it) root_[it.key()] = from_json(it.value());
    root_["namespace"] = Value::function([](List a, Kwargs kw) -> core::Expected<Value> {
      Dict d;
      if (!a.empty() && a[0].mapping()) d = *a[0].dict;
      for (auto& [k, v] : kw) d.emplace_back(k, v);
      return Value::of_dict(std::move(d), K::kNamespace);
    });
    root_["dict"] = Value::function(
        [](List, Kwargs kw) -> core::Expected<Value> { return Value::of_dict(Dict(kw.begin(), kw.end())); });
    root_["range"] = Value::function([](List a, Kwargs) -> core::Expected<Value> {
      int64_t lo = 0, hi = 0, st = 1;
      if (a.size() == 1 && a[0].is(K::kInt))
        hi = a[0].i;
      else if (a.size() >= 2 && a[0].is(K::kInt) && a[1].is(K::kInt))
        lo = a[0].i, hi = a[1].i, st = a.size() > 2 && a[2].is(K::kInt) ? a[2].i : 1;
      else
        return make_error(ErrorCode::kInvalidArgument, "range() takes integers");
      if (st == 0 || std::abs(hi - lo) / std::abs(st) > 100000)
        return make_error(ErrorCode::kInvalidArgument, "range() too long or with step 0");
      List l;
      for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) l.push_back(Value::integer(i));
      return Value::of_list(std::move(l));
    });
    root_["raise_exception"] = Value::function([](List a, Kwargs) -> core::Expected<Value> {
      return make_error(ErrorCode::kInvalidArgument, a.empty() ? "raise_exception" : str(a[0]));
    });
  }

  core::Expected<std::string> run(const Program& p) {
    std::vector<Scope*> chain{&root_};
    std::string out;
    ONPREM_TRY(render(p.body, chain, out));
    return out;
  }

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  core::Status render(const Body& body, std::vector<Scope*>& chain, std::string& out) {
    for (const NodePtr& n : body) {
      ONPREM_TRY(node(*n, chain, out));
      if (flow_ != Flow::kNormal) return core::Ok{};
    }
    return core::Ok{};
  }

  Value lookup(const std::string& name, const std::vector<Scope*>& chain) const {
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      auto f = (*it)->find(name);
      if (f != (*it)->end()) return f->second;
    }
    return Value();
  }

  core::Status node(const Node& n, std::vector<Scope*>& chain, std::string& out) {
    if (++steps_ > kMaxSteps) return fail(n.line, "the template ran too long");
    if (out.size() > kMaxString) return fail(n.line, "the template's output grew too large");
    switch (n.kind) {
      case Node::Kind::kText:
        out += n.text;
        return core::Ok{};
      case Node::Kind::kOutput: {
        ONPREM_TRY_ASSIGN(v, eval(*n.exprs[0], chain));
        const std::string text = str(v);
        if (!charge(text.size())) return fail(n.line, "the template's output grew too large");
        out += text;
        return core::Ok{};
      }
      case Node::Kind::kIf: {
        for (size_t b = 0; b < n.bodies.size(); ++b) {
          if (b < n.exprs.size()) {
            ONPREM_TRY_ASSIGN(c, eval(*n.exprs[b], chain));
            if (!truthy(c)) continue;
          }
          return render(n.bodies[b], chain, out);
        }
        return core::Ok{};
      }
      case Node::Kind::kFor:
        return for_loop(n, chain, out);
      case Node::Kind::kSet:
      case Node::Kind::kSetBlock: {
        Value v;
        if (n.kind == Node::Kind::kSet) {
          ONPREM_TRY_ASSIGN(x, eval(*n.exprs[0], chain));
          v = std::move(x);
        } else {
          std::string text;
          ONPREM_TRY(render(n.bodies[0], chain, text));
          v = Value::string(std::move(text));
        }
        const std::string& target = n.targets[0];
        const size_t dot = target.find('.');
        if (dot == std::string::npos) {
          (*chain.back())[target] = std::move(v);
          return core::Ok{};
        }
        Value ns = lookup(target.substr(0, dot), chain);
        if (!ns.is(K::kNamespace))
          return fail(n.line, "cannot assign attribute on non-namespace object '" + target.substr(0, dot) + "'");
        const std::string attr = target.substr(dot + 1);
        for (auto& [k, x] : *ns.dict)
          if (k == attr) {
            x = std::move(v);
            return core::Ok{};
          }
        ns.dict->emplace_back(attr, std::move(v));
        return core::Ok{};
      }
      case Node::Kind::kMacro: {
        const Node* def = &n;
        (*chain.back())[n.targets[0]] = Value::function([this, def](List a, Kwargs kw) -> core::Expected<Value> {
          return call_macro(*def, std::move(a), std::move(kw));
        });
        return core::Ok{};
      }
      case Node::Kind::kBreak:
        flow_ = Flow::kBreak;
        return core::Ok{};
      case Node::Kind::kContinue:
        flow_ = Flow::kContinue;
        return core::Ok{};
      case Node::Kind::kBlock:
        return render(n.bodies[0], chain, out);
    }
    return core::Ok{};
  }

  core::Expected<Value> call_macro(const Node& def, List a, Kwargs kw) {
    if (++depth_ > kMaxDepth) return fail(def.line, "macros nest too deep");
    Scope local;
    const size_t n_params = def.targets.size() - 1;
    if (a.size() > n_params)
      return fail(def.line, "macro '" + def.targets[0] + "' takes " + std::to_string(n_params) + " arguments");
    std::vector<Scope*> chain{&root_, &local};
    for (size_t p = 0; p < n_params; ++p) {
      const std::string& name = def.targets[p + 1];
      if (p < a.size())
        local[name] = a[p];
      else if (const Value* v = kwarg(kw, name.c_str()))
        local[name] = *v;
      else if (def.defaults[p]) {
        ONPREM_TRY_ASSIGN(d, eval(*def.defaults[p], chain));
        local[name] = d;
      }
    }
    std::string text;
    const Flow saved = flow_;
    flow_ = Flow::kNormal;
    auto st = render(def.bodies[0], chain, text);
    flow_ = saved;
    --depth_;
    if (!st) return st.error();
    return Value::string(std::move(text));
  }

  core::Status for_loop(const Node& n, std::vector<Scope*>& chain, std::string& out) {
    ONPREM_TRY_ASSIGN(seq, eval(*n.exprs[0], chain));
    if (seq.is(K::kNone) || seq.is(K::kBool) || seq.is(K::kInt) || seq.is(K::kFloat))
      return fail(n.line, repr(seq).append(" is not iterable"));
    Scope local;
    chain.push_back(&local);
    auto bind = [&](const Value& item) -> core::Status {
      if (n.targets.size() == 1) {
        local[n.targets[0]] = item;
        return core::Ok{};
      }
      const List parts = iterate(item);
      if (parts.size() != n.targets.size())
        return fail(n.line, "cannot unpack " + std::to_string(parts.size()) + " values into " +
                                std::to_string(n.targets.size()));
      for (size_t k = 0; k < parts.size(); ++k) local[n.targets[k]] = parts[k];
      return core::Ok{};
    };
    List items = iterate(seq);
    if (n.has_filter) {  // `for x in y if cond`: the loop runs over the items that pass
      List kept;
      for (const Value& item : items) {
        auto st = bind(item);
        if (!st) return chain.pop_back(), st;
        auto c = eval(*n.exprs[1], chain);
        if (!c) return chain.pop_back(), c.error();
        if (truthy(*c)) kept.push_back(item);
      }
      items = std::move(kept);
    }
    const int64_t len = int64_t(items.size());
    for (int64_t k = 0; k < len; ++k) {
      local.clear();
      auto st = bind(items[size_t(k)]);
      if (!st) return chain.pop_back(), st;
      Dict loop{{"index", Value::integer(k + 1)},      {"index0", Value::integer(k)},
                {"revindex", Value::integer(len - k)}, {"revindex0", Value::integer(len - k - 1)},
                {"first", Value::boolean(k == 0)},     {"last", Value::boolean(k == len - 1)},
                {"length", Value::integer(len)},       {"depth", Value::integer(1)},
                {"depth0", Value::integer(0)}};
      if (k > 0) loop.emplace_back("previtem", items[size_t(k - 1)]);
      if (k + 1 < len) loop.emplace_back("nextitem", items[size_t(k + 1)]);
      local["loop"] = Value::of_dict(std::move(loop));
      st = render(n.bodies[0], chain, out);
      if (!st) return chain.pop_back(), st;
      if (flow_ == Flow::kBreak) {
        flow_ = Flow::kNormal;
        break;
      }
      flow_ = Flow::kNormal;
    }
    chain.pop_back();
    if (len == 0 && n.bodies.size() > 1) return render(n.bodies[1], chain, out);
    return core::Ok{};
  }

  core::Expected<List> eval_args(const Expr& e, size_t first, Kwargs* kw, const std::vector<Scope*>& chain) {
    List a;
    const size_t n_kw = e.kwarg_names.size(), n_pos = e.args.size() - first - n_kw;
    for (size_t k = 0; k < e.args.size() - first; ++k) {
      ONPREM_TRY_ASSIGN(v, eval(*e.args[first + k], chain));
      if (k < n_pos)
        a.push_back(v);
      else
        kw->emplace_back(e.kwarg_names[k - n_pos], v);
    }
    return a;
  }

  core::Expected<Value> eval(const Expr& e, const std::vector<Scope*>& chain) {
    switch (e.kind) {
      case Expr::Kind::kLiteral:
        return e.literal;
      case Expr::Kind::kName:
        return lookup(e.name, chain);
      case Expr::Kind::kAttr: {
        ONPREM_TRY_ASSIGN(obj, eval(*e.args[0], chain));
        return attribute(obj, e.name, e.line);
      }
      case Expr::Kind::kItem: {
        ONPREM_TRY_ASSIGN(obj, eval(*e.args[0], chain));
        ONPREM_TRY_ASSIGN(key, eval(*e.args[1], chain));
        return item(obj, key, e.line);
      }
      case Expr::Kind::kSlice: {
        ONPREM_TRY_ASSIGN(obj, eval(*e.args[0], chain));
        ONPREM_TRY_ASSIGN(a, eval(*e.args[1], chain));
        ONPREM_TRY_ASSIGN(b, eval(*e.args[2], chain));
        ONPREM_TRY_ASSIGN(c, eval(*e.args[3], chain));
        if (obj.is(K::kList)) {
          List out;
          for (int64_t i : slice_indices(int64_t(obj.list->size()), a, b, c)) out.push_back((*obj.list)[size_t(i)]);
          return Value::of_list(std::move(out));
        }
        if (obj.is(K::kString)) {
          const auto at = code_points(obj.s);
          std::string out;
          for (int64_t i : slice_indices(int64_t(at.size()), a, b, c)) out += code_point(obj.s, at, size_t(i));
          return Value::string(std::move(out));
        }
        return fail(e.line, "cannot slice " + repr(obj));
      }
      case Expr::Kind::kCall:
        return call(e, chain);
      case Expr::Kind::kFilter: {
        ONPREM_TRY_ASSIGN(subject, eval(*e.args[0], chain));
        Kwargs kw;
        ONPREM_TRY_ASSIGN(a, eval_args(e, 1, &kw, chain));
        ONPREM_TRY_ASSIGN(r, filter(e.name, subject, a, kw, e.line));
        if (r.is(K::kString) && (r.s.size() > kMaxString || !charge(r.s.size())))
          return fail(e.line, "a string grew too large");
        return r;
      }
      case Expr::Kind::kTest: {
        ONPREM_TRY_ASSIGN(subject, eval(*e.args[0], chain));
        Kwargs kw;
        ONPREM_TRY_ASSIGN(a, eval_args(e, 1, &kw, chain));
        ONPREM_TRY_ASSIGN(r, test(e.name, subject, a, e.line));
        return Value::boolean(r);
      }
      case Expr::Kind::kNot: {
        ONPREM_TRY_ASSIGN(v, eval(*e.args[0], chain));
        return Value::boolean(!truthy(v));
      }
      case Expr::Kind::kNeg: {
        ONPREM_TRY_ASSIGN(v, eval(*e.args[0], chain));
        if (v.is(K::kInt) || v.is(K::kBool)) {
          const auto r = checked('-', 0, v.is(K::kBool) ? int64_t(v.b) : v.i);
          if (!r) return fail(e.line, "integer too large for 64 bits");
          return Value::integer(*r);
        }
        if (v.is(K::kFloat)) return Value::real(-v.f);
        return fail(e.line, "bad operand for unary -: " + repr(v));
      }
      case Expr::Kind::kAnd:
      case Expr::Kind::kOr: {  // Python's: the deciding operand is the result
        ONPREM_TRY_ASSIGN(a, eval(*e.args[0], chain));
        if (truthy(a) == (e.kind == Expr::Kind::kOr)) return a;
        return eval(*e.args[1], chain);
      }
      case Expr::Kind::kCond: {
        ONPREM_TRY_ASSIGN(c, eval(*e.args[0], chain));
        return eval(*e.args[truthy(c) ? 1 : 2], chain);
      }
      case Expr::Kind::kBinary: {
        ONPREM_TRY_ASSIGN(a, eval(*e.args[0], chain));
        ONPREM_TRY_ASSIGN(b, eval(*e.args[1], chain));
        return binary(e.name, a, b, e.line);
      }
      case Expr::Kind::kList:
      case Expr::Kind::kTuple: {
        List l;
        for (const auto& x : e.args) {
          ONPREM_TRY_ASSIGN(v, eval(*x, chain));
          l.push_back(v);
        }
        return Value::of_list(std::move(l));
      }
      case Expr::Kind::kDict: {
        Dict d;
        for (size_t k = 0; k + 1 < e.args.size(); k += 2) {
          ONPREM_TRY_ASSIGN(key, eval(*e.args[k], chain));
          ONPREM_TRY_ASSIGN(v, eval(*e.args[k + 1], chain));
          if (!key.is(K::kString)) return fail(e.line, "dict keys must be strings here");
          d.emplace_back(key.s, v);
        }
        return Value::of_dict(std::move(d));
      }
    }
    return Value();
  }

  // Attribute access as jinja2's sandbox does it: a dict's methods first, then its items.
  core::Expected<Value> attribute(const Value& obj, const std::string& name, int line) {
    if (obj.is(K::kUndefined)) return fail(line, "'" + name + "' of an undefined value");
    if (obj.is(K::kDict) && (name == "items" || name == "keys" || name == "values" || name == "get"))
      return method_value(obj, name);
    if (obj.mapping()) {
      const Value* v = obj.find(name);
      return v ? *v : Value();
    }
    if (obj.is(K::kString)) return method_value(obj, name);
    if (obj.is(K::kList) && !name.empty() && std::isdigit(static_cast<unsigned char>(name[0]))) {
      int64_t index = 0;  // from_chars, not stoll: a hostile template's 30-digit index is undefined, not a throw
      const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), index);
      if (ec == std::errc() && end == name.data() + name.size()) return item(obj, Value::integer(index), line);
    }
    return Value();
  }

  core::Expected<Value> item(const Value& obj, const Value& key, int line) {
    if (obj.is(K::kUndefined)) return fail(line, "subscript of an undefined value");
    if (obj.mapping()) {
      if (!key.is(K::kString)) return Value();
      const Value* v = obj.find(key.s);
      if (v) return *v;
      return obj.is(K::kDict) ? attribute(obj, key.s, line) : Value();
    }
    if ((obj.is(K::kList) || obj.is(K::kString)) && (key.is(K::kInt) || key.is(K::kBool))) {
      const auto at = obj.is(K::kString) ? code_points(obj.s) : std::vector<size_t>{};
      const int64_t n = obj.is(K::kList) ? int64_t(obj.list->size()) : int64_t(at.size());
      int64_t i = key.is(K::kBool) ? int64_t(key.b) : key.i;
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value();
      return obj.is(K::kList) ? (*obj.list)[size_t(i)] : Value::string(code_point(obj.s, at, size_t(i)));
    }
    if (key.is(K::kString)) return attribute(obj, key.s, line);
    return Value();
  }

  // A bound method as a value (called later, or an Undefined where the type has none).
  Value method_value(const Value& obj, const std::string& name) {
    static const char* kStr[] = {"startswith", "endswith", "split", "strip", "lstrip",
                                 "rstrip",     "replace",  "upper", "lower", "title",
                                 "capitalize", "find",     "count", "join",  "splitlines"};
    static const char* kDictM[] = {"items", "keys", "values", "get"};
    bool known = false;
    for (const char* m : kStr) known |= obj.is(K::kString) && name == m;
    for (const char* m : kDictM) known |= obj.is(K::kDict) && name == m;
    if (!known) return Value();
    return Value::function([this, obj, name](List a, Kwargs kw) { return method(obj, name, a, kw); });
  }

  core::Expected<Value> method(const Value& obj, const std::string& name, const List& a, const Kwargs& kw) {
    auto bad = [&](const std::string& why) { return make_error(ErrorCode::kInvalidArgument, name + "(): " + why); };
    if (obj.is(K::kDict)) {
      if (name == "items") {
        List l;
        for (const auto& [k, v] : *obj.dict) l.push_back(Value::of_list({Value::string(k), v}));
        return Value::of_list(std::move(l));
      }
      if (name == "keys") return Value::of_list(iterate(obj));
      if (name == "values") {
        List l;
        for (const auto& [k, v] : *obj.dict) l.push_back(v);
        return Value::of_list(std::move(l));
      }
      const Value* key = arg(a, kw, 0, "key");
      if (!key) return bad("takes a key");
      const Value* v = key->is(K::kString) ? obj.find(key->s) : nullptr;
      if (v) return *v;
      const Value* dflt = arg(a, kw, 1, "default");
      return dflt ? *dflt : Value::none();
    }
    const std::string& s = obj.s;
    const Value* a0 = arg(a, kw, 0, "");
    if (name == "startswith" || name == "endswith") {
      if (!a0) return bad("takes a prefix");
      List options = a0->is(K::kList) ? *a0->list : List{*a0};
      for (const Value& o : options) {
        if (!o.is(K::kString)) return bad("takes strings");
        const bool hit = name == "startswith"
                             ? s.compare(0, o.s.size(), o.s) == 0 && s.size() >= o.s.size()
                             : s.size() >= o.s.size() && s.compare(s.size() - o.s.size(), o.s.size(), o.s) == 0;
        if (hit) return Value::boolean(true);
      }
      return Value::boolean(false);
    }
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
      const Value* chars = a0 && a0->is(K::kString) ? a0 : nullptr;
      return Value::string(py_strip_set(s, chars, name != "rstrip", name != "lstrip"));
    }
    if (name == "split") {
      const Value* sep = arg(a, kw, 0, "sep");
      const Value* maxs = arg(a, kw, 1, "maxsplit");
      int64_t left = maxs && maxs->is(K::kInt) ? maxs->i : -1;
      List parts;
      if (!sep || sep->is(K::kNone)) {  // runs of whitespace, no empty parts
        const auto at = code_points(s);
        std::string cur;
        bool in_word = false;
        size_t k = 0;
        for (; k < at.size(); ++k) {
          size_t len;
          const uint32_t cp = utf8_at(s, at[k], &len);
          if (py_space(cp)) {
            if (in_word) {
              parts.push_back(Value::string(cur)), cur.clear(), in_word = false;
              if (left > 0 && --left == 0) {
                while (k < at.size() && py_space(utf8_at(s, at[k], &len))) ++k;
                if (k < at.size()) parts.push_back(Value::string(s.substr(at[k])));
                return Value::of_list(std::move(parts));
              }
            }
          } else {
            cur += code_point(s, at, k), in_word = true;
          }
        }
        if (in_word) parts.push_back(Value::string(cur));
        return Value::of_list(std::move(parts));
      }
      if (!sep->is(K::kString) || sep->s.empty()) return bad("empty or non-string separator");
      size_t from = 0;
      for (size_t hit; left != 0 && (hit = s.find(sep->s, from)) != std::string::npos;
           from = hit + sep->s.size(), --left)
        parts.push_back(Value::string(s.substr(from, hit - from)));
      parts.push_back(Value::string(s.substr(from)));
      return Value::of_list(std::move(parts));
    }
    if (name == "splitlines") {
      List parts;
      size_t from = 0;
      for (size_t k = 0; k < s.size(); ++k)
        if (s[k] == '\n' || s[k] == '\r') {
          parts.push_back(Value::string(s.substr(from, k - from)));
          if (s[k] == '\r' && k + 1 < s.size() && s[k + 1] == '\n') ++k;
          from = k + 1;
        }
      if (from < s.size()) parts.push_back(Value::string(s.substr(from)));
      return Value::of_list(std::move(parts));
    }
    if (name == "replace") {
      const Value* old_v = arg(a, kw, 0, "old");
      const Value* new_v = arg(a, kw, 1, "new");
      const Value* count = arg(a, kw, 2, "count");
      if (!old_v || !new_v || !old_v->is(K::kString) || !new_v->is(K::kString) || old_v->s.empty())
        return bad("takes two strings");
      return Value::string(replace(s, old_v->s, new_v->s, count && count->is(K::kInt) ? count->i : -1));
    }
    if (name == "upper" || name == "lower" || name == "title" || name == "capitalize")
      return Value::string(change_case(s, name));
    if (name == "find" || name == "count") {
      if (!a0 || !a0->is(K::kString)) return bad("takes a string");
      if (name == "find") {
        const size_t hit = s.find(a0->s);
        if (hit == std::string::npos) return Value::integer(-1);
        return Value::integer(int64_t(code_points(s.substr(0, hit)).size()));
      }
      int64_t n = 0;
      if (a0->s.empty()) return Value::integer(int64_t(code_points(s).size()) + 1);
      for (size_t from = 0, hit; (hit = s.find(a0->s, from)) != std::string::npos; from = hit + a0->s.size()) ++n;
      return Value::integer(n);
    }
    if (name == "join") {
      if (!a0) return bad("takes an iterable");
      std::string out;
      bool first = true;
      for (const Value& x : iterate(*a0)) {
        if (!x.is(K::kString)) return bad("sequence item is not a string");
        out += (first ? "" : s) + x.s;
        first = false;
      }
      return Value::string(std::move(out));
    }
    return bad("unsupported");
  }

  static std::string replace(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
    std::string out;
    size_t pos = 0;
    for (size_t hit; count != 0 && (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size(), --count)
      out += s.substr(pos, hit - pos) + to;
    return out + s.substr(pos);
  }
  static std::string change_case(const std::string& s, const std::string& how) {
    std::string out = s;
    bool word_start = true;
    for (size_t k = 0; k < out.size(); ++k) {
      const char c = out[k];
      const bool alpha = std::isalpha(static_cast<unsigned char>(c));
      if (how == "upper")
        out[k] = char(std::toupper(static_cast<unsigned char>(c)));
      else if (how == "lower")
        out[k] = char(std::tolower(static_cast<unsigned char>(c)));
      else if (how == "capitalize")
        out[k] =
            char(k == 0 ? std::toupper(static_cast<unsigned char>(c)) : std::tolower(static_cast<unsigned char>(c)));
      else
        out[k] = char(word_start ? std::toupper(static_cast<unsigned char>(c))
                                 : std::tolower(static_cast<unsigned char>(c)));
      word_start = !alpha;
    }
    return out;
  }

  core::Expected<Value> call(const Expr& e, const std::vector<Scope*>& chain) {
    ONPREM_TRY_ASSIGN(callee, eval(*e.args[0], chain));
    Kwargs kw;
    ONPREM_TRY_ASSIGN(a, eval_args(e, 1, &kw, chain));
    if (!callee.is(K::kFunction)) {
      const std::string what =
          e.args[0]->kind == Expr::Kind::kName || e.args[0]->kind == Expr::Kind::kAttr ? e.args[0]->name : "value";
      return fail(e.line, "'" + what + "' is not callable" + (callee.defined() ? "" : " (undefined)"));
    }
    auto r = (*callee.fn)(std::move(a), std::move(kw));
    if (r && r->is(K::kString) && (r->s.size() > kMaxString || !charge(r->s.size())))
      return fail(e.line, "a string grew too large");
    if (!r && r.error().message.rfind("chat template line", 0) != 0 && e.args[0]->kind != Expr::Kind::kName)
      return fail(e.line, r.error().message);
    return r;
  }

  core::Expected<Value> binary(const std::string& op, const Value& a, const Value& b, int line) {
    if (op == "==") return Value::boolean(equal(a, b));
    if (op == "!=") return Value::boolean(!equal(a, b));
    if (op == "~" || (op == "+" && a.is(K::kString) && b.is(K::kString))) {
      std::string x = str(a), y = str(b);
      if (x.size() + y.size() > kMaxString || !charge(x.size() + y.size()))
        return fail(line, "a string grew too large");
      return Value::string(x + y);
    }
    if (op == "in" || op == "not in") {
      bool in = false;
      if (b.is(K::kString)) {
        if (!a.is(K::kString)) return fail(line, "'in <string>' requires a string on the left");
        in = b.s.find(a.s) != std::string::npos;
      } else if (b.mapping()) {
        in = a.is(K::kString) && b.find(a.s);
      } else if (b.is(K::kList)) {
        for (const Value& x : *b.list) in |= equal(a, x);
      } else if (b.defined()) {
        return fail(line, "argument of type " + repr(b) + " is not iterable");
      }
      return Value::boolean(op == "in" ? in : !in);
    }
    if (!a.defined() || !b.defined()) return fail(line, "undefined value in '" + op + "'");
    if (op == "<" || op == ">" || op == "<=" || op == ">=") {
      int c;
      if (a.number() && b.number())
        c = a.as_double() < b.as_double() ? -1 : a.as_double() > b.as_double() ? 1 : 0;
      else if (a.is(K::kString) && b.is(K::kString))
        c = a.s.compare(b.s) < 0 ? -1 : a.s == b.s ? 0 : 1;
      else
        return fail(line, "'" + op + "' not supported between " + repr(a) + " and " + repr(b));
      return Value::boolean(op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0);
    }
    if (op == "+" && a.is(K::kList) && b.is(K::kList)) {
      if (a.list->size() + b.list->size() > kMaxItems) return fail(line, "a list grew too large");
      List l = *a.list;
      l.insert(l.end(), b.list->begin(), b.list->end());
      return Value::of_list(std::move(l));
    }
    if (op == "*" && (a.is(K::kString) || a.is(K::kList)) && b.is(K::kInt)) {
      const size_t unit = a.is(K::kString) ? a.s.size() : a.list->size();
      if (b.i > 10000 || unit * size_t(std::max<int64_t>(b.i, 0)) > (a.is(K::kString) ? kMaxString : kMaxItems))
        return fail(line, "repetition too large");
      if (a.is(K::kString)) {
        std::string s;
        for (int64_t k = 0; k < b.i; ++k) s += a.s;
        return Value::string(std::move(s));
      }
      List l;
      for (int64_t k = 0; k < b.i; ++k) l.insert(l.end(), a.list->begin(), a.list->end());
      return Value::of_list(std::move(l));
    }
    if (!a.number() || !b.number())
      return fail(line, "unsupported operands for '" + op + "': " + repr(a) + " and " + repr(b));
    const bool ints = a.kind != K::kFloat && b.kind != K::kFloat;
    const int64_t x = a.is(K::kBool) ? int64_t(a.b) : a.i, y = b.is(K::kBool) ? int64_t(b.b) : b.i;
    const double fx = a.as_double(), fy = b.as_double();
    if (op == "+" || op == "-" || op == "*" || (op == "**" && ints && y >= 0)) {
      if (!ints) return Value::real(op == "+" ? fx + fy : op == "-" ? fx - fy : fx * fy);
      const auto r = checked(op == "**" ? '^' : op[0], x, y);
      if (!r) return fail(line, "integer result of '" + op + "' too large for 64 bits");
      return Value::integer(*r);
    }
    if (op == "/") {
      if (fy == 0) return fail(line, "division by zero");
      return Value::real(fx / fy);
    }
    if (op == "//" || op == "%") {
      if (fy == 0) return fail(line, "division by zero");
      if (ints) {
        if (x == std::numeric_limits<int64_t>::min() && y == -1) return fail(line, "integer too large for 64 bits");
        int64_t q = x / y, r = x % y;
        if (r != 0 && ((r < 0) != (y < 0))) --q, r += y;  // Python floors
        return Value::integer(op == "//" ? q : r);
      }
      const double q = std::floor(fx / fy);
      return Value::real(op == "//" ? q : fx - q * fy);
    }
    if (op == "**") return Value::real(std::pow(fx, fy));
    return fail(line, "unknown operator " + op);
  }

  core::Expected<bool> test(const std::string& name, const Value& v, const List& a, int line) {
    if (name == "defined") return v.defined();
    if (name == "undefined") return !v.defined();
    if (name == "none") return v.is(K::kNone);
    if (name == "string") return v.is(K::kString);
    if (name == "number") return v.number();
    if (name == "integer") return v.is(K::kInt);
    if (name == "float") return v.is(K::kFloat);
    if (name == "boolean") return v.is(K::kBool);
    if (name == "true") return v.is(K::kBool) && v.b;
    if (name == "false") return v.is(K::kBool) && !v.b;
    if (name == "mapping") return v.is(K::kDict);
    if (name == "iterable") return v.is(K::kString) || v.is(K::kList) || v.is(K::kDict) || v.is(K::kUndefined);
    if (name == "sequence") return v.is(K::kString) || v.is(K::kList) || v.is(K::kDict);
    if (name == "callable") return v.is(K::kFunction);
    if (name == "odd" || name == "even") {
      if (!v.is(K::kInt)) return fail(line, "'" + name + "' needs an integer");
      return (v.i % 2 != 0) == (name == "odd");
    }
    if (name == "eq" || name == "equalto" || name == "==" || name == "sameas") return !a.empty() && equal(v, a[0]);
    if (name == "ne" || name == "!=") return !a.empty() && !equal(v, a[0]);
    if (name == "in") {
      if (a.empty()) return fail(line, "'in' needs a container");
      ONPREM_TRY_ASSIGN(r, binary("in", v, a[0], line));
      return r.b;
    }
    return fail(line, "unknown test '" + name + "'");
  }

  core::Expected<Value> filter(const std::string& name, const Value& v, const List& a, const Kwargs& kw, int line) {
    if (name == "tojson") {
      const Value* indent = arg(a, kw, 0, "indent");
      if (indent && !indent->is(K::kNone) && !(indent->is(K::kInt) && indent->i >= 0 && indent->i <= 64))
        return fail(line, "tojson: indent must be a small non-negative integer");
      auto j = to_json(v);
      if (!j) return fail(line, j.error().message);
      return Value::string(py_json_dumps(*j, indent && indent->is(K::kInt) ? int(indent->i) : -1));
    }
    if (name == "trim") return Value::string(py_strip_set(str(v), arg(a, kw, 0, "chars"), true, true));
    if (name == "length" || name == "count") {
      if (v.is(K::kString)) return Value::integer(int64_t(code_points(v.s).size()));
      if (v.is(K::kList)) return Value::integer(int64_t(v.list->size()));
      if (v.mapping()) return Value::integer(int64_t(v.dict->size()));
      if (!v.defined()) return Value::integer(0);
      return fail(line, "object of type " + repr(v) + " has no len()");
    }
    if (name == "items") {
      if (!v.defined()) return Value::of_list({});
      if (!v.is(K::kDict)) return fail(line, "items: can only get items from a mapping");
      return method(v, "items", {}, {});
    }
    if (name == "safe" || name == "string") return v.is(K::kString) ? v : Value::string(str(v));
    if (name == "list") return Value::of_list(iterate(v));
    if (name == "join") {
      const Value* sep = arg(a, kw, 0, "d");
      std::string out;
      bool first = true;
      for (const Value& x : iterate(v)) {
        out += (first ? "" : sep ? str(*sep) : "") + str(x);
        first = false;
      }
      return Value::string(std::move(out));
    }
    if (name == "default" || name == "d") {
      const Value* dflt = arg(a, kw, 0, "default_value");
      const Value* boolean = arg(a, kw, 1, "boolean");
      const bool use = !v.defined() || (boolean && truthy(*boolean) && !truthy(v));
      return use ? (dflt ? *dflt : Value::string("")) : v;
    }
    if (name == "first" || name == "last") {
      const List l = iterate(v);
      if (l.empty()) return Value();
      return name == "first" ? l.front() : l.back();
    }
    if (name == "lower" || name == "upper" || name == "title" || name == "capitalize")
      return Value::string(change_case(str(v), name));
    if (name == "replace") {
      if (a.size() < 2) return fail(line, "replace needs two arguments");
      return method(Value::string(str(v)), "replace", a, kw);
    }
    if (name == "int") {
      if (v.is(K::kInt)) return v;
      if (v.is(K::kBool)) return Value::integer(v.b);
      if (v.is(K::kFloat)) {  // truncates toward 0, as Python; a value no int64 holds is an error
        if (!(std::fabs(v.f) < 9223372036854775808.0))
          return fail(line, "int of " + repr(v) + ": too large for 64 bits");
        return Value::integer(int64_t(v.f));
      }
      if (v.is(K::kString)) {
        char* end = nullptr;
        const long long x = std::strtoll(v.s.c_str(), &end, 10);
        return Value::integer(end && *end == '\0' && !v.s.empty() ? x : 0);
      }
      return Value::integer(0);
    }
    if (name == "float") {
      if (v.number()) return Value::real(v.as_double());
      if (v.is(K::kString)) return Value::real(std::strtod(v.s.c_str(), nullptr));
      return Value::real(0);
    }
    if (name == "abs") {
      if (v.is(K::kInt)) {
        if (v.i == std::numeric_limits<int64_t>::min()) return fail(line, "integer too large for 64 bits");
        return Value::integer(std::llabs(v.i));
      }
      if (v.is(K::kFloat)) return Value::real(std::fabs(v.f));
      return fail(line, "abs needs a number");
    }
    if (name == "unique") {
      List out;
      for (const Value& x : iterate(v))
        if (std::none_of(out.begin(), out.end(), [&](const Value& y) { return equal(x, y); })) out.push_back(x);
      return Value::of_list(std::move(out));
    }
    if (name == "map") {
      const Value* attr = kwarg(kw, "attribute");
      if (!attr || !attr->is(K::kString)) return fail(line, "map: only map(attribute=...) is supported");
      List out;
      for (const Value& x : iterate(v)) {
        ONPREM_TRY_ASSIGN(y, attribute(x, attr->s, line));
        out.push_back(y);
      }
      return Value::of_list(std::move(out));
    }
    if (name == "selectattr" || name == "rejectattr") {
      if (a.empty() || !a[0].is(K::kString)) return fail(line, name + " needs an attribute name");
      List out;
      for (const Value& x : iterate(v)) {
        ONPREM_TRY_ASSIGN(y, attribute(x, a[0].s, line));
        bool pass = truthy(y);
        if (a.size() > 1) {
          if (!a[1].is(K::kString)) return fail(line, name + ": the test must be a name");
          ONPREM_TRY_ASSIGN(t, test(a[1].s, y, List(a.begin() + 2, a.end()), line));
          pass = t;
        }
        if (pass == (name == "selectattr")) out.push_back(x);
      }
      return Value::of_list(std::move(out));
    }
    return fail(line, "unknown filter '" + name + "'");
  }

  // Bounds on what one render may cost: a template comes with a model file. Steps are statements
  // run; work is the bytes of every string built and written (a string doubling itself in a loop
  // stops here, long before memory or time run out).
  static constexpr int64_t kMaxSteps = 1'000'000;
  static constexpr size_t kMaxString = 64u << 20, kMaxItems = 1u << 20, kMaxWork = 512u << 20;
  bool charge(size_t bytes) { return (work_ += bytes) <= kMaxWork; }
  size_t work_ = 0;
  static constexpr int kMaxDepth = 64;
  Scope root_;
  Flow flow_ = Flow::kNormal;
  int64_t steps_ = 0;
  int depth_ = 0;
};

}  // namespace

core::Expected<Template> Template::parse(std::string_view source) {
  ONPREM_TRY_ASSIGN(p, parse_program(source));
  Template t;
  t.program_ = p;
  return t;
}

core::Expected<std::string> Template::render(const Json& context) const {
  Evaluator ev(context);
  return ev.run(*program_);
}

}  // namespace onprem::chat::jinja
