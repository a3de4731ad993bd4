// Lexer and parser of the Jinja subset (jinja.h), with the environment transformers uses:
// trim_blocks (a block tag eats the newline after it) and lstrip_blocks (spaces and tabs before a
// block tag on its line go), besides the explicit - and + markers.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>

#include "chat/jinja_ast.h"

namespace onprem::chat::jinja {

using core::ErrorCode;
using core::make_error;

namespace {

struct Token {
  enum class Kind { kText, kBlockBegin, kBlockEnd, kVarBegin, kVarEnd, kName, kString, kInt, kFloat, kOp, kEnd };
  Kind kind = Kind::kEnd;
  std::string text;
  int line = 1;
};

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {
    for (size_t k = 0; k < src_.size(); ++k)
      if (src_[k] == '\n') newlines_.push_back(k);
  }

  core::Expected<std::vector<Token>> run() {
    size_t pos = 0;
    while (pos < src_.size()) {
      size_t p = pos;
      while (p < src_.size() && !(src_[p] == '{' && p + 1 < src_.size() &&
                                  (src_[p + 1] == '{' || src_[p + 1] == '%' || src_[p + 1] == '#')))
        ++p;
      std::string text(src_.substr(pos, p - pos));
      if (p >= src_.size()) {
        push(Token::Kind::kText, std::move(text), pos);
        break;
      }
      const char kind = src_[p + 1];
      size_t after = p + 2;
      const bool minus = after < src_.size() && src_[after] == '-', plus = after < src_.size() && src_[after] == '+';
      if (minus) {
        while (!text.empty() && space(text.back())) text.pop_back();
      } else if (kind != '{' && !plus) {
        // lstrip_blocks: only spaces and tabs between the line's start and the tag.
        const size_t nl = text.rfind('\n');
        const size_t from = nl == std::string::npos ? 0 : nl + 1;
        bool blank = true;
        for (size_t k = from; k < text.size(); ++k) blank &= text[k] == ' ' || text[k] == '\t';
        const bool line_start = nl != std::string::npos || pos == 0 || src_[pos - 1] == '\n';
        if (blank && line_start) text.resize(from);
      }
      if (minus || plus) ++after;
      push(Token::Kind::kText, std::move(text), pos);
      bool strip_after = false;
      if (kind == '#') {
        const size_t end = src_.find("#}", after);
        if (end == std::string::npos) return error(p, "unclosed comment");
        strip_after = end > after && src_[end - 1] == '-';
        pos = end + 2;
      } else {
        const bool block = kind == '%';
        push(block ? Token::Kind::kBlockBegin : Token::Kind::kVarBegin, "", p);
        ONPREM_TRY_ASSIGN(end, inside(after, block ? '%' : '}', &strip_after));
        push(block ? Token::Kind::kBlockEnd : Token::Kind::kVarEnd, "", end);
        pos = end;
      }
      if (strip_after) {
        while (pos < src_.size() && space(src_[pos])) ++pos;
      } else if (kind != '{') {  // trim_blocks
        if (pos < src_.size() && src_[pos] == '\n')
          ++pos;
        else if (pos + 1 < src_.size() && src_[pos] == '\r' && src_[pos + 1] == '\n')
          pos += 2;
      }
    }
    push(Token::Kind::kEnd, "", src_.size());
    return std::move(out_);
  }

 private:
  int line_at(size_t pos) const {
    return 1 + int(std::lower_bound(newlines_.begin(), newlines_.end(), pos) - newlines_.begin());
  }
  void push(Token::Kind k, std::string text, size_t pos) {
    if (k == Token::Kind::kText && text.empty()) return;
    out_.push_back(Token{k, std::move(text), line_at(pos)});
  }
  core::Error error(size_t pos, const std::string& what) const {
    return make_error(ErrorCode::kInvalidArgument, "chat template line " + std::to_string(line_at(pos)) + ": " + what);
  }

  // Tokens of a tag's inside; returns the position after its closing delimiter.
  core::Expected<size_t> inside(size_t pos, char close, bool* strip_after) {
    for (;;) {
      while (pos < src_.size() && space(src_[pos])) ++pos;
      if (pos >= src_.size()) return error(pos, "unclosed tag");
      const std::string_view rest = src_.substr(pos);
      if (rest.size() >= 3 && rest[0] == '-' && rest[1] == close && rest[2] == '}') {
        *strip_after = true;
        return pos + 3;
      }
      if (rest.size() >= 2 && rest[0] == close && rest[1] == '}') return pos + 2;
      const char c = rest[0];
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t e = pos;
        while (e < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
        push(Token::Kind::kName, std::string(src_.substr(pos, e - pos)), pos);
        pos = e;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        size_t e = pos;
        bool real = false;
        while (e < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
        if (e + 1 < src_.size() && src_[e] == '.' && std::isdigit(static_cast<unsigned char>(src_[e + 1]))) {
          real = true;
          for (++e; e < src_.size() && std::isdigit(static_cast<unsigned char>(src_[e])); ++e) {
          }
        }
        if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
          size_t k = e + 1;
          if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
          if (k < src_.size() && std::isdigit(static_cast<unsigned char>(src_[k]))) {
            real = true;
            for (e = k; e < src_.size() && std::isdigit(static_cast<unsigned char>(src_[e])); ++e) {
            }
          }
        }
        std::string num;
        for (char d : src_.substr(pos, e - pos))
          if (d != '_') num += d;
        push(real ? Token::Kind::kFloat : Token::Kind::kInt, num, pos);
        pos = e;
      } else if (c == '\'' || c == '"') {
        std::string s;
        size_t e = pos + 1;
        for (; e < src_.size() && src_[e] != c; ++e) {
          if (src_[e] != '\\' || e + 1 >= src_.size()) {
            s += src_[e];
            continue;
          }
          const char x = src_[++e];
          switch (x) {
            case 'n':
              s += '\n';
              break;
            case 't':
              s += '\t';
              break;
            case 'r':
              s += '\r';
              break;
            case '0':
              s += '\0';
              break;
            case '\\':
              s += '\\';
              break;
            case '\'':
              s += '\'';
              break;
            case '"':
              s += '"';
              break;
            case 'u':
            case 'x': {
              const size_t digits = x == 'u' ? 4 : 2;
              if (e + digits >= src_.size()) return error(e, "bad escape in a string");
              const uint32_t cp = uint32_t(std::strtoul(std::string(src_.substr(e + 1, digits)).c_str(), nullptr, 16));
              e += digits;
              append_utf8(s, cp);
              break;
            }
            default:
              s += '\\', s += x;  // Python keeps unknown escapes as written
          }
        }
        if (e >= src_.size()) return error(pos, "unterminated string");
        push(Token::Kind::kString, std::move(s), pos);
        pos = e + 1;
      } else {
        static const char* kOps[] = {"==", "!=", "<=", ">=", "//", "**", "<", ">", "+", "-", "*", "/", "%",
                                     "~",  "(",  ")",  "[",  "]",  "{",  "}", ",", ":", ".", "|", "="};
        bool found = false;
        for (const char* op : kOps) {
          const std::string_view o(op);
          if (rest.substr(0, o.size()) == o) {
            push(Token::Kind::kOp, std::string(o), pos);
            pos += o.size();
            found = true;
            break;
          }
        }
        if (!found) return error(pos, std::string("unexpected character '") + c + "'");
      }
    }
  }

  static void append_utf8(std::string& s, uint32_t cp) {
    if (cp < 0x80) {
      s += char(cp);
    } else if (cp < 0x800) {
      s += char(0xC0 | (cp >> 6)), s += char(0x80 | (cp & 0x3F));
    } else {
      s += char(0xE0 | (cp >> 12)), s += char(0x80 | ((cp >> 6) & 0x3F)), s += char(0x80 | (cp & 0x3F));
    }
  }

  std::string_view src_;
  std::vector<size_t> newlines_;
  std::vector<Token> out_;
};

class Parser {
 public:
  explicit Parser(std::vector<Token> t) : t_(std::move(t)) {}

  core::Expected<std::shared_ptr<Program>> run() {
    auto p = std::make_shared<Program>();
    std::string end;
    ONPREM_TRY_ASSIGN(body, parse_body({}, &end));
    p->body = std::move(body);
    if (!err_.empty()) return fail();
    return p;
  }

 private:
  using K = Token::Kind;

  const Token& peek(size_t ahead = 0) const { return t_[std::min(i_ + ahead, t_.size() - 1)]; }
  bool at_op(const char* op) const { return peek().kind == K::kOp && peek().text == op; }
  bool at_name(const char* n) const { return peek().kind == K::kName && peek().text == n; }
  Token take() { return t_[std::min(i_++, t_.size() - 1)]; }
  bool accept_op(const char* op) {
    if (!at_op(op)) return false;
    ++i_;
    return true;
  }
  bool accept_name(const char* n) {
    if (!at_name(n)) return false;
    ++i_;
    return true;
  }
  void expect_op(const char* op) {
    if (!accept_op(op)) set_error(std::string("expected '") + op + "'");
  }
  std::string expect_name() {
    if (peek().kind != K::kName) {
      set_error("expected a name");
      return "";
    }
    return take().text;
  }
  void set_error(const std::string& what) {
    if (err_.empty())
      err_ = "chat template line " + std::to_string(peek().line) + ": " + what +
             (peek().text.empty() ? "" : " near '" + peek().text + "'");
    i_ = t_.size() - 1;  // stop: everything after reads as the end
  }
  core::Error fail() const { return make_error(ErrorCode::kInvalidArgument, err_); }

  // Statements until one of `ends` (a block keyword) or the end of the template.
  core::Expected<Body> parse_body(const std::set<std::string>& ends, std::string* end) {
    Body body;
    for (;;) {
      if (!err_.empty()) return fail();
      const Token& tk = peek();
      if (tk.kind == K::kEnd) {
        if (!ends.empty()) {
          set_error("missing {% " + *ends.begin() + " %}");
          return fail();
        }
        return body;
      }
      if (tk.kind == K::kText) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kText, n->text = take().text;
        body.push_back(std::move(n));
        continue;
      }
      if (tk.kind == K::kVarBegin) {
        take();
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kOutput, n->line = tk.line;
        n->exprs.push_back(expression());
        if (peek().kind != K::kVarEnd) set_error("expected '}}'");
        take();
        body.push_back(std::move(n));
        continue;
      }
      if (tk.kind != K::kBlockBegin) {
        set_error("unexpected token");
        return fail();
      }
      const std::string kw = peek(1).text;
      if (ends.count(kw)) {
        take(), take();
        *end = kw;
        return body;
      }
      take();
      auto n = statement();
      if (!err_.empty()) return fail();
      if (n) body.push_back(std::move(n));
    }
  }

  void end_tag() {
    if (peek().kind != K::kBlockEnd) set_error("expected '%}'");
    take();
  }

  NodePtr statement() {
    const Nest nest(*this);
    const int line = peek().line;
    const std::string kw = expect_name();
    auto n = std::make_unique<Node>();
    n->line = line;
    std::string end;
    if (kw == "if") {
      n->kind = Node::Kind::kIf;
      n->exprs.push_back(expression());
      end_tag();
      for (;;) {
        auto b = parse_body({"elif", "else", "endif"}, &end);
        if (!b) return nullptr;
        n->bodies.push_back(std::move(*b));
        if (end == "endif") break;
        if (end == "elif") {
          n->exprs.push_back(expression());
          end_tag();
          continue;
        }
        end_tag();
        auto e = parse_body({"endif"}, &end);
        if (!e) return nullptr;
        n->bodies.push_back(std::move(*e));
        break;
      }
    } else if (kw == "for") {
      n->kind = Node::Kind::kFor;
      n->targets.push_back(expect_name());
      while (accept_op(",")) n->targets.push_back(expect_name());
      if (!accept_name("in")) set_error("expected 'in'");
      n->exprs.push_back(or_expr());  // `if` here filters the loop, it is not a conditional expression
      if (accept_name("if")) n->has_filter = true, n->exprs.push_back(expression());
      end_tag();
      auto b = parse_body({"else", "endfor"}, &end);
      if (!b) return nullptr;
      n->bodies.push_back(std::move(*b));
      if (end == "else") {
        end_tag();
        auto e = parse_body({"endfor"}, &end);
        if (!e) return nullptr;
        n->bodies.push_back(std::move(*e));
      }
    } else if (kw == "set") {
      std::string target = expect_name();
      if (accept_op(".")) target += "." + expect_name();
      n->targets.push_back(target);
      if (accept_op("=")) {
        n->kind = Node::Kind::kSet;
        n->exprs.push_back(expression());
      } else {
        n->kind = Node::Kind::kSetBlock;
        end_tag();
        auto b = parse_body({"endset"}, &end);
        if (!b) return nullptr;
        n->bodies.push_back(std::move(*b));
      }
    } else if (kw == "macro") {
      n->kind = Node::Kind::kMacro;
      n->targets.push_back(expect_name());
      expect_op("(");
      while (err_.empty() && !accept_op(")")) {
        n->targets.push_back(expect_name());
        n->defaults.push_back(accept_op("=") ? expression() : nullptr);
        if (!at_op(")")) expect_op(",");
      }
      end_tag();
      auto b = parse_body({"endmacro"}, &end);
      if (!b) return nullptr;
      n->bodies.push_back(std::move(*b));
    } else if (kw == "break" || kw == "continue") {
      n->kind = kw == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
    } else if (kw == "generation") {  // transformers' marker of assistant text; renders its body
      n->kind = Node::Kind::kBlock;
      end_tag();
      auto b = parse_body({"endgeneration"}, &end);
      if (!b) return nullptr;
      n->bodies.push_back(std::move(*b));
    } else {
      set_error("unsupported tag '" + kw + "'");
      return nullptr;
    }
    end_tag();
    return n;
  }

  ExprPtr make(Expr::Kind k, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = k, e->line = line;
    return e;
  }

  // Nesting is bounded: a template comes with a model file and must not exhaust the stack.
  struct Nest {
    Parser& p;
    explicit Nest(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxNesting) p.set_error("nested too deep");
    }
    ~Nest() { --p.depth_; }
  };

  ExprPtr expression() {
    const Nest nest(*this);
    auto e = or_expr();
    if (at_name("if")) {
      take();
      auto c = make(Expr::Kind::kCond, e->line);
      auto cond = or_expr();
      ExprPtr other = accept_name("else") ? expression() : make(Expr::Kind::kLiteral, e->line);  // undefined
      c->args.push_back(std::move(cond)), c->args.push_back(std::move(e)), c->args.push_back(std::move(other));
      return c;
    }
    return e;
  }
  ExprPtr binary(Expr::Kind k, ExprPtr a, ExprPtr b, std::string op = "") {
    auto e = make(k, a->line);
    e->name = std::move(op);
    e->args.push_back(std::move(a)), e->args.push_back(std::move(b));
    return e;
  }
  ExprPtr or_expr() {
    auto e = and_expr();
    while (accept_name("or")) e = binary(Expr::Kind::kOr, std::move(e), and_expr());
    return e;
  }
  ExprPtr and_expr() {
    auto e = not_expr();
    while (accept_name("and")) e = binary(Expr::Kind::kAnd, std::move(e), not_expr());
    return e;
  }
  ExprPtr not_expr() {
    if (at_name("not")) {
      const int line = take().line;
      auto e = make(Expr::Kind::kNot, line);
      e->args.push_back(not_expr());
      return e;
    }
    return compare();
  }
  ExprPtr compare() {
    auto e = math1();
    for (;;) {
      std::string op;
      if (peek().kind == K::kOp && (peek().text == "==" || peek().text == "!=" || peek().text == "<" ||
                                    peek().text == ">" || peek().text == "<=" || peek().text == ">="))
        op = take().text;
      else if (accept_name("in"))
        op = "in";
      else if (at_name("not") && peek(1).kind == K::kName && peek(1).text == "in")
        take(), take(), op = "not in";
      else
        return e;
      e = binary(Expr::Kind::kBinary, std::move(e), math1(), op);
    }
  }
  ExprPtr math1() {
    auto e = concat();
    while (at_op("+") || at_op("-")) {
      const std::string op = take().text;
      e = binary(Expr::Kind::kBinary, std::move(e), concat(), op);
    }
    return e;
  }
  ExprPtr concat() {
    auto e = math2();
    while (accept_op("~")) e = binary(Expr::Kind::kBinary, std::move(e), math2(), "~");
    return e;
  }
  ExprPtr math2() {
    auto e = power();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      const std::string op = take().text;
      e = binary(Expr::Kind::kBinary, std::move(e), power(), op);
    }
    return e;
  }
  ExprPtr power() {
    auto e = unary(true);
    while (accept_op("**")) e = binary(Expr::Kind::kBinary, std::move(e), unary(true), "**");
    return e;
  }
  ExprPtr unary(bool with_filter) {
    const Nest nest(*this);
    ExprPtr e;
    if (at_op("-") || at_op("+")) {
      const Token t = take();
      auto inner = unary(false);
      if (t.text == "-") {
        e = make(Expr::Kind::kNeg, t.line);
        e->args.push_back(std::move(inner));
      } else {
        e = std::move(inner);
      }
    } else {
      e = postfix(primary());
    }
    if (with_filter) return filters(std::move(e));
    return e;
  }
  ExprPtr primary() {
    const Token t = take();
    auto lit = [&](Value v) {
      auto e = make(Expr::Kind::kLiteral, t.line);
      e->literal = std::move(v);
      return e;
    };
    if (t.kind == K::kName) {
      if (t.text == "true" || t.text == "True") return lit(Value::boolean(true));
      if (t.text == "false" || t.text == "False") return lit(Value::boolean(false));
      if (t.text == "none" || t.text == "None") return lit(Value::none());
      auto e = make(Expr::Kind::kName, t.line);
      e->name = t.text;
      return e;
    }
    if (t.kind == K::kString) {
      std::string s = t.text;
      while (peek().kind == K::kString) s += take().text;  // adjacent literals join
      return lit(Value::string(std::move(s)));
    }
    if (t.kind == K::kInt) return lit(Value::integer(std::strtoll(t.text.c_str(), nullptr, 10)));
    if (t.kind == K::kFloat) return lit(Value::real(std::strtod(t.text.c_str(), nullptr)));
    if (t.kind == K::kOp && t.text == "(") {
      if (accept_op(")")) return make(Expr::Kind::kTuple, t.line);
      auto e = expression();
      if (at_op(",")) {
        auto tup = make(Expr::Kind::kTuple, t.line);
        tup->args.push_back(std::move(e));
        while (accept_op(",") && !at_op(")")) tup->args.push_back(expression());
        e = std::move(tup);
      }
      expect_op(")");
      return e;
    }
    if (t.kind == K::kOp && t.text == "[") {
      auto e = make(Expr::Kind::kList, t.line);
      while (err_.empty() && !accept_op("]")) {
        e->args.push_back(expression());
        if (!at_op("]")) expect_op(",");
      }
      return e;
    }
    if (t.kind == K::kOp && t.text == "{") {
      auto e = make(Expr::Kind::kDict, t.line);
      while (err_.empty() && !accept_op("}")) {
        e->args.push_back(expression());
        expect_op(":");
        e->args.push_back(expression());
        if (!at_op("}")) expect_op(",");
      }
      return e;
    }
    --i_;
    set_error("expected an expression");
    return make(Expr::Kind::kLiteral, t.line);
  }
  // Call arguments after '(' up to ')': positional, then name=value.
  void call_args(Expr& e) {
    while (err_.empty() && !accept_op(")")) {
      if (peek().kind == K::kName && peek(1).kind == K::kOp && peek(1).text == "=") {
        e.kwarg_names.push_back(take().text);
        take();
      } else if (!e.kwarg_names.empty()) {
        set_error("positional argument after a keyword argument");
      }
      e.args.push_back(expression());
      if (!at_op(")")) expect_op(",");
    }
  }
  ExprPtr postfix(ExprPtr e) {
    for (;;) {
      if (accept_op(".")) {
        auto a = make(Expr::Kind::kAttr, e->line);
        a->name = peek().kind == K::kInt ? take().text : expect_name();
        a->args.push_back(std::move(e));
        e = std::move(a);
      } else if (accept_op("[")) {
        ExprPtr parts[3];
        bool slice = false;
        int part = 0;
        while (err_.empty() && !at_op("]")) {
          if (accept_op(":")) {
            slice = true;
            if (++part > 2) set_error("bad slice");
            continue;
          }
          parts[part] = expression();
        }
        expect_op("]");
        auto s = make(slice ? Expr::Kind::kSlice : Expr::Kind::kItem, e->line);
        s->args.push_back(std::move(e));
        for (int k = 0; k < (slice ? 3 : 1); ++k)
          s->args.push_back(parts[k] ? std::move(parts[k]) : make(Expr::Kind::kLiteral, s->line));
        if (!slice && !s->args[1]) set_error("empty subscript");
        e = std::move(s);
      } else if (accept_op("(")) {
        auto c = make(Expr::Kind::kCall, e->line);
        c->args.push_back(std::move(e));
        call_args(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }
  ExprPtr filters(ExprPtr e) {
    for (;;) {
      if (accept_op("|")) {
        auto f = make(Expr::Kind::kFilter, e->line);
        f->name = expect_name();
        f->args.push_back(std::move(e));
        if (accept_op("(")) call_args(*f);
        e = std::move(f);
      } else if (at_name("is")) {
        take();
        const bool negate = accept_name("not");
        auto t = make(Expr::Kind::kTest, e->line);
        t->name = expect_name();
        if (t->name == "none" || t->name == "true" || t->name == "false") {
        }  // names, not literals, here
        t->args.push_back(std::move(e));
        if (accept_op("("))
          call_args(*t);
        else if (peek().kind == K::kString || peek().kind == K::kInt || peek().kind == K::kFloat)
          t->args.push_back(postfix(primary()));
        if (negate) {
          auto n = make(Expr::Kind::kNot, t->line);
          n->args.push_back(std::move(t));
          e = std::move(n);
        } else {
          e = std::move(t);
        }
      } else {
        return e;
      }
    }
  }

  static constexpr int kMaxNesting = 200;
  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
  std::string err_;
};

}  // namespace

core::Expected<std::shared_ptr<Program>> parse_program(std::string_view source) {
  Lexer lexer(source);
  ONPREM_TRY_ASSIGN(tokens, lexer.run());
  return Parser(std::move(tokens)).run();
}

}  // namespace onprem::chat::jinja
