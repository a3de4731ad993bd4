// A context-free grammar over bytes and its incremental recogniser (a set of pushdown stacks,
// like llama.cpp's GBNF engine). Rules are alternatives of sequences of byte sets and rule
// references; repetition is expressed with recursive rules. Left recursion is not allowed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace onprem::chat {

struct GrammarElement {
  bool is_rule = false;
  int rule = -1;                    // is_rule
  uint64_t bits[4] = {0, 0, 0, 0};  // byte set (!is_rule)
  bool matches(uint8_t c) const { return (bits[c >> 6] >> (c & 63)) & 1u; }
};
using GrammarAlt = std::vector<GrammarElement>;

struct Grammar {
  std::vector<std::vector<GrammarAlt>> rules;  // rule 0 is the start
  std::vector<std::string> names;

  int add_rule(std::string name);  // empty rule, filled later
  void add_alt(int rule, GrammarAlt alt);
  static GrammarElement ref(int rule);
  static GrammarElement byte_range(uint8_t lo, uint8_t hi);
  static GrammarElement byte_set(const std::string& chars);  // any of these bytes
  static GrammarElement byte_not(const std::string& chars);  // any byte but these
  static GrammarAlt literal(const std::string& s);
};

// Recogniser state: the set of stacks still alive. Copy to branch (cheap for small grammars).
class GrammarState {
 public:
  static core::Expected<GrammarState> start(const Grammar& g);
  bool accept_byte(uint8_t c);              // false (and unchanged) if c is not allowed
  bool accept_bytes(const std::string& s);  // all or nothing
  bool can_end() const;                     // the input so far is a complete sentence
  bool dead() const { return stacks_.empty(); }
  bool allows(uint8_t c) const;
  // A canonical byte string of the state: equal keys, equal futures (for memoising transitions).
  std::string key() const;

 private:
  struct Frame {
    int rule, alt, pos;
  };
  using Stack = std::vector<Frame>;
  static void expand(const Grammar& g, Stack s, std::vector<Stack>& out, int depth);
  const Grammar* g_ = nullptr;
  std::vector<Stack> stacks_;  // each ends at a byte-set element, or is empty (accepting)
};

// Renders the grammar in GBNF-like text (for debugging and docs).
std::string grammar_to_string(const Grammar& g);

}  // namespace onprem::chat
