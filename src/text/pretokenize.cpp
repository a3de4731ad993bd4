#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/pretokenize.h"

#include <pcre2.h>

namespace onprem::text {

// The case-insensitive contraction group is spelled out as llama.cpp does: PCRE2's (?i) would
// also fold U+017F (long s) and U+212A (Kelvin sign) into s / k.
const char* pre_tokenizer_pattern(PreTokenizer kind) {
  if (kind == PreTokenizer::kQwen35)
    return "'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}|"
           " ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  return "'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
         " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
}

struct PreTokenizerRegex::Impl {
  pcre2_code* code = nullptr;
  ~Impl() {
    if (code) pcre2_code_free(code);
  }
};

PreTokenizerRegex::PreTokenizerRegex(PreTokenizerRegex&&) noexcept = default;
PreTokenizerRegex& PreTokenizerRegex::operator=(PreTokenizerRegex&&) noexcept = default;
PreTokenizerRegex::~PreTokenizerRegex() = default;

core::Expected<PreTokenizerRegex> PreTokenizerRegex::create(PreTokenizer kind) {
  const char* pattern = pre_tokenizer_pattern(kind);
  int err = 0;
  PCRE2_SIZE err_off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_off, nullptr);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    return core::make_error(core::ErrorCode::kUnsupported,
                            std::string("pre-tokenizer regex: ") + reinterpret_cast<char*>(msg));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // optional: falls back to the interpreter
  PreTokenizerRegex r;
  r.impl_ = std::make_unique<Impl>();
  r.impl_->code = code;
  return r;
}

std::vector<std::string_view> PreTokenizerRegex::split(std::string_view text) const {
  std::vector<std::string_view> out;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos < text.size()) {
    const int rc = pcre2_match(impl_->code, subject, text.size(), pos, 0, md, nullptr);
    if (rc < 0) break;  // no further match: the rest is unmatched bytes
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t s = ov[0], e = ov[1];
    if (s > pos) out.push_back(text.substr(pos, s - pos));  // invalid UTF-8 between matches
    if (e == s) {  // cannot happen with these patterns; guard against a loop anyway
      pos = s + 1;
      continue;
    }
    out.push_back(text.substr(s, e - s));
    pos = e;
  }
  if (pos < text.size()) out.push_back(text.substr(pos));
  pcre2_match_data_free(md);
  return out;
}

}  // namespace onprem::text
