// Text -> token ids (byte-level BPE as llama.cpp runs it, formats.md §6.2) and ids -> text.
// Thread-safe for concurrent encode/decode calls.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "text/pretokenize.h"
#include "text/vocab.h"

namespace onprem::text {

class Tokenizer {
 public:
  static core::Expected<Tokenizer> create(Vocab vocab);
  Tokenizer(Tokenizer&& other) noexcept;

  const Vocab& vocab() const { return vocab_; }

  // parse_special: CONTROL tokens written in the text (e.g. "<|im_start|>") become their ids;
  // USER_DEFINED tokens always do. Off: control-token text is tokenised as plain text.
  std::vector<int32_t> encode(std::string_view text, bool parse_special) const;

  // The bytes of one token; CONTROL tokens give their text only when `special` is set.
  std::string token_bytes(int32_t id, bool special) const;
  std::string decode(const std::vector<int32_t>& ids, bool special) const;

 private:
  explicit Tokenizer(Vocab v, PreTokenizerRegex re) : vocab_(std::move(v)), regex_(std::move(re)) {}
  void bpe(std::string_view piece, std::vector<int32_t>& out) const;

  Vocab vocab_;
  PreTokenizerRegex regex_;
  // Piece -> ids; most text repeats its pieces, so this skips most BPE work.
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

// Emits decoded text as tokens arrive without ever splitting a UTF-8 sequence: a trailing
// incomplete sequence is held back until the bytes that complete it come. Pieces concatenate to
// Tokenizer::decode of the same ids.
class StreamDecoder {
 public:
  StreamDecoder(const Tokenizer& tok, bool special) : tok_(tok), special_(special) {}
  std::string push(int32_t id);
  std::string flush();  // whatever is held back (an incomplete sequence at end of stream)

 private:
  const Tokenizer& tok_;
  bool special_;
  std::string pending_;
};

}  // namespace onprem::text
