// Internal to the Jinja interpreter (jinja.h): values with Python's semantics, and the parsed
// template (expressions and statements), shared by jinja_parse.cpp and jinja_eval.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja.h"

namespace onprem::chat::jinja {

struct Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<std::string, Value>>;  // insertion order, as Python's dict
using Kwargs = std::vector<std::pair<std::string, Value>>;
using Function = std::function<core::Expected<Value>(List args, Kwargs kwargs)>;

struct Value {
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kFunction };
  Kind kind = Kind::kUndefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::shared_ptr<List> list;  // lists and tuples
  std::shared_ptr<Dict> dict;  // dicts and namespaces (mutable through set ns.x)
  std::shared_ptr<const Function> fn;

  static Value none() { return with(Kind::kNone); }
  static Value boolean(bool v) {
    Value x = with(Kind::kBool);
    x.b = v;
    return x;
  }
  static Value integer(int64_t v) {
    Value x = with(Kind::kInt);
    x.i = v;
    return x;
  }
  static Value real(double v) {
    Value x = with(Kind::kFloat);
    x.f = v;
    return x;
  }
  static Value string(std::string v) {
    Value x = with(Kind::kString);
    x.s = std::move(v);
    return x;
  }
  static Value of_list(List v) {
    Value x = with(Kind::kList);
    x.list = std::make_shared<List>(std::move(v));
    return x;
  }
  static Value of_dict(Dict v, Kind k = Kind::kDict) {
    Value x = with(k);
    x.dict = std::make_shared<Dict>(std::move(v));
    return x;
  }
  static Value function(Function f) {
    Value x = with(Kind::kFunction);
    x.fn = std::make_shared<const Function>(std::move(f));
    return x;
  }

  bool is(Kind k) const { return kind == k; }
  bool defined() const { return kind != Kind::kUndefined; }
  bool mapping() const { return kind == Kind::kDict || kind == Kind::kNamespace; }
  bool number() const { return kind == Kind::kInt || kind == Kind::kFloat || kind == Kind::kBool; }
  double as_double() const { return kind == Kind::kFloat ? f : kind == Kind::kBool ? double(b) : double(i); }
  const Value* find(const std::string& key) const;  // dict / namespace entry, or null

 private:
  static Value with(Kind k) {
    Value x;
    x.kind = k;
    return x;
  }
};

// Python's semantics.
bool truthy(const Value& v);
bool equal(const Value& a, const Value& b);
std::string str(const Value& v);  // str(v): "None", "True", repr of floats, repr inside containers
std::string repr(const Value& v);
Value from_json(const Json& j);
core::Expected<Json> to_json(const Value& v);

// Expressions.
struct Expr {
  enum class Kind {
    kLiteral,
    kName,
    kAttr,
    kItem,
    kSlice,
    kCall,
    kFilter,
    kTest,
    kNot,
    kNeg,
    kBinary,
    kAnd,
    kOr,
    kCond,
    kList,
    kDict,
    kTuple
  };
  Kind kind = Kind::kLiteral;
  Value literal;
  std::string name;                         // name, attribute, filter, test, binary operator
  std::vector<std::unique_ptr<Expr>> args;  // operands; call / filter / test arguments after the subject
  std::vector<std::string> kwarg_names;     // the last kwarg_names.size() args are keyword arguments
  int line = 0;
};
using ExprPtr = std::unique_ptr<Expr>;

// Statements.
struct Node {
  enum class Kind { kText, kOutput, kIf, kFor, kSet, kSetBlock, kMacro, kBreak, kContinue, kBlock };
  Kind kind = Kind::kText;
  std::string text;  // kText
  std::vector<ExprPtr>
      exprs;  // kOutput: [value]; kIf: one condition per branch; kFor: [iterable, filter?]; kSet: [value]
  std::vector<std::vector<std::unique_ptr<Node>>>
      bodies;                        // kIf: one per branch (+ else); kFor: [body, else]; kMacro / kBlock: [body]
  std::vector<std::string> targets;  // kFor: loop variables; kSet: name or "ns.attr"; kMacro: [name, params...]
  std::vector<ExprPtr> defaults;     // kMacro: per parameter (null when none)
  bool has_filter = false;           // kFor: `for x in y if cond`
  int line = 0;
};
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct Program {
  Body body;
};

core::Expected<std::shared_ptr<Program>> parse_program(std::string_view source);

}  // namespace onprem::chat::jinja
