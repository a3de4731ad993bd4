// The split regex that runs before BPE (formats.md §5), executed by PCRE2 with UTF and Unicode
// properties. Thread-safe: each call allocates its own match data.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "text/vocab.h"

namespace onprem::text {

class PreTokenizerRegex {
 public:
  static core::Expected<PreTokenizerRegex> create(PreTokenizer kind);
  PreTokenizerRegex(PreTokenizerRegex&&) noexcept;
  PreTokenizerRegex& operator=(PreTokenizerRegex&&) noexcept;
  ~PreTokenizerRegex();

  // Pieces in order; they concatenate to the input. Bytes that are not valid UTF-8 never match
  // the regex and come out as pieces of their own.
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  PreTokenizerRegex() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The pattern strings, as PCRE2 receives them.
const char* pre_tokenizer_pattern(PreTokenizer kind);

}  // namespace onprem::text
