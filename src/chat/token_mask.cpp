#include "chat/token_mask.h"

#include <algorithm>
#include <array>
#include <string>
#include <unordered_map>
#include <cmath>

namespace onprem::chat {

TokenTrie::TokenTrie(const text::Tokenizer& tok) : n_vocab_(tok.vocab().size()) {
  nodes_.emplace_back();
  for (size_t id = 0; id < n_vocab_; ++id) {
    const auto type = tok.vocab().types[id];
    if (type != text::TokenType::kNormal && type != text::TokenType::kByte && type != text::TokenType::kUserDefined)
      continue;
    const std::string bytes = tok.token_bytes(int32_t(id), false);
    if (bytes.empty()) continue;
    int32_t node = 0;
    for (unsigned char c : bytes) {
      auto& ch = nodes_[size_t(node)].children;
      auto it = std::find_if(ch.begin(), ch.end(), [c](const auto& p) { return p.first == c; });
      if (it == ch.end()) {
        nodes_.emplace_back();
        nodes_[size_t(node)].children.push_back({c, int32_t(nodes_.size() - 1)});
        node = int32_t(nodes_.size() - 1);
      } else {
        node = it->second;
      }
    }
    nodes_[size_t(node)].tokens.push_back(int32_t(id));
  }
}

namespace {

// Depth-first over the trie with memoised grammar transitions: states are interned, and
// (state, byte) -> state is computed once per mask. Inside a string almost every byte leads to
// the same few states, so the walk costs a table lookup per trie node.
struct Walker {
  const TokenTrie& trie;
  std::vector<uint8_t>& allowed;
  std::vector<GrammarState> states;
  std::unordered_map<std::string, int> ids;
  std::vector<std::array<int, 256>> next;  // -2 unknown, -1 rejected

  int intern(GrammarState s) {
    auto [it, fresh] = ids.emplace(s.key(), int(states.size()));
    if (fresh) {
      states.push_back(std::move(s));
      std::array<int, 256> row;
      row.fill(-2);
      next.push_back(row);
    }
    return it->second;
  }

  int step(int sid, uint8_t byte) {
    int& t = next[size_t(sid)][byte];
    if (t == -2) {
      GrammarState s = states[size_t(sid)];
      t = s.accept_byte(byte) ? -3 : -1;  // placeholder: intern may grow the tables
      if (t == -3) {
        const int id = intern(std::move(s));
        next[size_t(sid)][byte] = id;
        return id;
      }
    }
    return t;
  }

  size_t walk(int32_t node, int sid) {
    size_t n = 0;
    for (const auto& [byte, child] : trie.nodes()[size_t(node)].children) {
      const int t = step(sid, byte);
      if (t < 0) continue;
      for (int32_t id : trie.nodes()[size_t(child)].tokens) allowed[size_t(id)] = 1, ++n;
      if (!trie.nodes()[size_t(child)].children.empty()) n += walk(child, t);
    }
    return n;
  }
};

}  // namespace

size_t compute_mask(const TokenTrie& trie, const GrammarState& state, std::vector<uint8_t>& allowed) {
  allowed.assign(trie.n_vocab(), 0);
  Walker w{trie, allowed, {}, {}, {}};
  const int start = w.intern(state);
  return w.walk(0, start);
}

ConstrainedDecoder::ConstrainedDecoder(const Grammar& g, const TokenTrie& trie, const text::Tokenizer& tok)
    : trie_(trie), tok_(tok) {
  auto s = GrammarState::start(g);
  if (s.ok()) state_ = *s, ok_ = true;
}

void ConstrainedDecoder::mask_logits(float* logits) {
  compute_mask(trie_, state_, allowed_);
  const bool end_ok = state_.can_end();
  for (size_t i = 0; i < allowed_.size(); ++i) {
    const bool eog = tok_.vocab().is_eog(int32_t(i));
    if (eog ? !end_ok : !allowed_[i]) logits[i] = -INFINITY;
  }
}

bool ConstrainedDecoder::accept(int32_t id) {
  if (tok_.vocab().is_eog(id)) return state_.can_end();
  return state_.accept_bytes(tok_.token_bytes(id, false));
}

}  // namespace onprem::chat
