// Which tokens a grammar allows next: a byte trie of the vocabulary walked depth-first from the
// recogniser's state, pruning every branch the grammar rejects, so the cost follows the part of
// the vocabulary that is still possible rather than the whole vocabulary per step.
#pragma once

#include <cstdint>
#include <vector>

#include "chat/grammar.h"
#include "text/tokenizer.h"

namespace onprem::chat {

class TokenTrie {
 public:
  // NORMAL, BYTE and USER_DEFINED tokens, by the bytes they decode to. CONTROL tokens (ends of
  // turns) are handled by the decoder, not the grammar.
  explicit TokenTrie(const text::Tokenizer& tok);
  size_t n_vocab() const { return n_vocab_; }

  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // byte -> node
    std::vector<int32_t> tokens;                        // tokens spelled exactly by the path here
  };
  const std::vector<Node>& nodes() const { return nodes_; }

 private:
  std::vector<Node> nodes_;
  size_t n_vocab_ = 0;
};

// allowed[id] = 1 if the token keeps the input a prefix of the language; returns how many.
size_t compute_mask(const TokenTrie& trie, const GrammarState& state, std::vector<uint8_t>& allowed);

// Glue for generation: masks logits, advances the grammar with each chosen token.
class ConstrainedDecoder {
 public:
  ConstrainedDecoder(const Grammar& g, const TokenTrie& trie, const text::Tokenizer& tok);
  bool ok() const { return ok_; }
  // Disallowed tokens get -inf; end-of-generation tokens are allowed only when the value is complete.
  void mask_logits(float* logits);
  // False if the token is not allowed (the caller sampled outside the mask).
  bool accept(int32_t id);
  bool complete() const { return state_.can_end(); }

 private:
  const TokenTrie& trie_;
  const text::Tokenizer& tok_;
  GrammarState state_;
  std::vector<uint8_t> allowed_;
  bool ok_ = false;
};

}  // namespace onprem::chat
