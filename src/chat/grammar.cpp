#include "chat/grammar.h"

#include <algorithm>
#include <cstdio>
#include <tuple>

namespace onprem::chat {

int Grammar::add_rule(std::string name) {
  rules.emplace_back();
  names.push_back(std::move(name));
  return int(rules.size() - 1);
}

void Grammar::add_alt(int rule, GrammarAlt alt) { rules[size_t(rule)].push_back(std::move(alt)); }

GrammarElement Grammar::ref(int rule) {
  GrammarElement e;
  e.is_rule = true;
  e.rule = rule;
  return e;
}

GrammarElement Grammar::byte_range(uint8_t lo, uint8_t hi) {
  GrammarElement e;
  for (int c = lo; c <= hi; ++c) e.bits[c >> 6] |= uint64_t(1) << (c & 63);
  return e;
}

GrammarElement Grammar::byte_set(const std::string& chars) {
  GrammarElement e;
  for (unsigned char c : chars) e.bits[c >> 6] |= uint64_t(1) << (c & 63);
  return e;
}

GrammarElement Grammar::byte_not(const std::string& chars) {
  GrammarElement e = byte_set(chars);
  for (auto& b : e.bits) b = ~b;
  return e;
}

GrammarAlt Grammar::literal(const std::string& s) {
  GrammarAlt a;
  for (unsigned char c : s) a.push_back(byte_range(c, c));
  return a;
}

namespace {
constexpr int kMaxDepth = 512;  // rule nesting; deeper is a grammar bug (left recursion)
}

// Expands rule references at the top until every stack ends at a byte set or is empty.
void GrammarState::expand(const Grammar& g, Stack s, std::vector<Stack>& out, int depth) {
  if (depth > kMaxDepth) return;
  // Pop finished alternatives.
  while (!s.empty() && s.back().pos >= int(g.rules[size_t(s.back().rule)][size_t(s.back().alt)].size())) s.pop_back();
  if (s.empty()) {
    out.push_back(std::move(s));
    return;
  }
  const Frame top = s.back();
  const GrammarElement& e = g.rules[size_t(top.rule)][size_t(top.alt)][size_t(top.pos)];
  if (!e.is_rule) {
    out.push_back(std::move(s));
    return;
  }
  s.back().pos++;  // continue after the reference once the rule is matched
  // Tail call: a frame with nothing left after the reference is dropped now, so right-recursive
  // repetition (item rest) keeps the stack flat.
  while (!s.empty() && s.back().pos >= int(g.rules[size_t(s.back().rule)][size_t(s.back().alt)].size())) s.pop_back();
  const auto& alts = g.rules[size_t(e.rule)];
  for (size_t a = 0; a < alts.size(); ++a) {
    Stack t = s;
    t.push_back(Frame{e.rule, int(a), 0});
    expand(g, std::move(t), out, depth + 1);
  }
}

core::Expected<GrammarState> GrammarState::start(const Grammar& g) {
  if (g.rules.empty()) return core::make_error(core::ErrorCode::kInvalidArgument, "empty grammar");
  GrammarState st;
  st.g_ = &g;
  for (size_t a = 0; a < g.rules[0].size(); ++a) expand(g, Stack{Frame{0, int(a), 0}}, st.stacks_, 0);
  if (st.stacks_.empty()) return core::make_error(core::ErrorCode::kInvalidArgument, "grammar matches nothing");
  return st;
}

bool GrammarState::allows(uint8_t c) const {
  for (const auto& s : stacks_) {
    if (s.empty()) continue;
    const Frame& f = s.back();
    if (g_->rules[size_t(f.rule)][size_t(f.alt)][size_t(f.pos)].matches(c)) return true;
  }
  return false;
}

bool GrammarState::accept_byte(uint8_t c) {
  std::vector<Stack> next;
  for (const auto& s : stacks_) {
    if (s.empty()) continue;
    const Frame& f = s.back();
    if (!g_->rules[size_t(f.rule)][size_t(f.alt)][size_t(f.pos)].matches(c)) continue;
    Stack t = s;
    t.back().pos++;
    expand(*g_, std::move(t), next, 0);
  }
  if (next.empty()) return false;
  if (next.size() == 1) {
    stacks_.swap(next);
    return true;
  }
  // Identical stacks are redundant: keep one of each.
  std::sort(next.begin(), next.end(), [](const Stack& a, const Stack& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](const Frame& x, const Frame& y) {
      return std::tie(x.rule, x.alt, x.pos) < std::tie(y.rule, y.alt, y.pos);
    });
  });
  next.erase(std::unique(next.begin(), next.end(),
                         [](const Stack& a, const Stack& b) {
                           return a.size() == b.size() &&
                                  std::equal(a.begin(), a.end(), b.begin(), [](const Frame& x, const Frame& y) {
                                    return x.rule == y.rule && x.alt == y.alt && x.pos == y.pos;
                                  });
                         }),
             next.end());
  stacks_ = std::move(next);
  return true;
}

bool GrammarState::accept_bytes(const std::string& s) {
  GrammarState copy = *this;
  for (unsigned char c : s)
    if (!copy.accept_byte(c)) return false;
  *this = std::move(copy);
  return true;
}

std::string GrammarState::key() const {
  std::string k;
  for (const auto& st : stacks_) {
    for (const Frame& f : st) {
      const int v[3] = {f.rule, f.alt, f.pos};
      k.append(reinterpret_cast<const char*>(v), sizeof v);
    }
    k += '|';
  }
  return k;
}

bool GrammarState::can_end() const {
  for (const auto& s : stacks_)
    if (s.empty()) return true;
  return false;
}

std::string grammar_to_string(const Grammar& g) {
  std::string out;
  for (size_t r = 0; r < g.rules.size(); ++r) {
    out += g.names[r] + " ::=";
    for (size_t a = 0; a < g.rules[r].size(); ++a) {
      out += a ? " |" : "";
      if (g.rules[r][a].empty()) out += " \"\"";
      for (const auto& e : g.rules[r][a]) {
        if (e.is_rule) {
          out += " " + g.names[size_t(e.rule)];
          continue;
        }
        int n = 0, single = -1;
        for (int c = 0; c < 256; ++c)
          if (e.matches(uint8_t(c))) ++n, single = c;
        char buf[32];
        if (n == 1 && single >= 0x20 && single < 0x7f)
          std::snprintf(buf, sizeof buf, " '%c'", single);
        else
          std::snprintf(buf, sizeof buf, " [%d bytes]", n);
        out += buf;
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace onprem::chat
