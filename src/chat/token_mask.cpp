#include "chat/token_mask.h"

#include <algorithm>
#include <cmath>

namespace onprem::chat {

TokenTrie::TokenTrie(const text::Tokenizer& tok) : n_vocab_(tok.vocab().size()) {
  nodes_.emplace_back();
  for (size_t id = 0; id < n_vocab_; ++id) {
    const auto type = tok.vocab().types[id];
    if (type != text::TokenType::kNormal && type != text::TokenType::kByte && type != text::TokenType::kUserDefined) continue;
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

size_t walk(const TokenTrie& trie, int32_t node, const GrammarState& state, std::vector<uint8_t>& allowed) {
  size_t n = 0;
  for (const auto& [byte, child] : trie.nodes()[size_t(node)].children) {
    if (!state.allows(byte)) continue;
    GrammarState next = state;
    next.accept_byte(byte);
    for (int32_t id : trie.nodes()[size_t(child)].tokens) allowed[size_t(id)] = 1, ++n;
    n += walk(trie, child, next, allowed);
  }
  return n;
}

}  // namespace

size_t compute_mask(const TokenTrie& trie, const GrammarState& state, std::vector<uint8_t>& allowed) {
  allowed.assign(trie.n_vocab(), 0);
  return walk(trie, 0, state, allowed);
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
