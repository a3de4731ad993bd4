#include "router/pii_scan.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/json_bounds.h"

namespace onprem::router {

using chat::Json;

namespace {

void put_utf8(std::string* out, int32_t cp) {
  uint8_t buf[4];
  const auto n = utf8proc_encode_char(cp, buf);
  out->append(reinterpret_cast<const char*>(buf), size_t(n));
}

// Invalid UTF-8 would make utf8proc refuse the whole string: each bad byte becomes U+FFFD.
std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    int32_t cp = 0;
    const auto n = utf8proc_iterate(p + i, utf8proc_ssize_t(s.size() - i), &cp);
    if (n <= 0) {
      put_utf8(&out, 0xFFFD);
      ++i;
      continue;
    }
    out.append(s.data() + i, size_t(n));
    i += size_t(n);
  }
  return out;
}

bool is_dash(int32_t cp) {
  return (cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 || cp == 0xFE58 || cp == 0xFE63 || cp == 0xFF0D ||
         cp == 0x2043 || cp == 0x2E3A || cp == 0x2E3B;
}

// Format characters that render as nothing and so can hide inside an address or a number.
bool is_invisible(int32_t cp) {
  const auto cat = utf8proc_category(cp);
  return cat == UTF8PROC_CATEGORY_CF || (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0x034F || cp == 0x115F ||
         cp == 0x1160 || cp == 0x3164 || cp == 0xFFA0;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool hex4(std::string_view s, size_t at, int* v) {
  if (at + 4 > s.size()) return false;
  int r = 0;
  for (size_t k = at; k < at + 4; ++k) {
    const int h = hex(s[k]);
    if (h < 0) return false;
    r = r * 16 + h;
  }
  *v = r;
  return true;
}

// \uXXXX (with surrogate pairs) and \xXX escapes written out as text.
bool unescape(std::string_view s, std::string* out) {
  bool any = false;
  for (size_t i = 0; i < s.size(); ++i) {
    int v = 0, lo = 0;
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'u' && hex4(s, i + 2, &v)) {
      int32_t cp = v;
      size_t used = 6;
      if (v >= 0xD800 && v < 0xDC00 && i + 7 < s.size() && s[i + 6] == '\\' && s[i + 7] == 'u' && hex4(s, i + 8, &lo) &&
          lo >= 0xDC00 && lo < 0xE000)
        cp = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00), used = 12;
      if (utf8proc_codepoint_valid(cp)) put_utf8(out, cp);
      i += used - 1;
      any = true;
    } else if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' && hex(s[i + 2]) >= 0 && hex(s[i + 3]) >= 0) {
      *out += char(hex(s[i + 2]) * 16 + hex(s[i + 3]));
      i += 3;
      any = true;
    } else {
      *out += s[i];
    }
  }
  return any;
}

bool percent_decode(std::string_view s, std::string* out) {
  bool any = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      *out += char(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
      any = true;
    } else if (s[i] == '+') {
      *out += ' ';
    } else {
      *out += s[i];
    }
  }
  return any;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Text that mostly reads as text: valid UTF-8, few control characters.
bool looks_like_text(std::string_view s) {
  if (s.empty()) return false;
  size_t control = 0;
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  size_t i = 0, chars = 0;
  while (i < s.size()) {
    int32_t cp = 0;
    const auto n = utf8proc_iterate(p + i, utf8proc_ssize_t(s.size() - i), &cp);
    if (n <= 0) return false;
    if (cp < 0x20 && cp != '\n' && cp != '\r' && cp != '\t') ++control;
    ++chars;
    i += size_t(n);
  }
  return control * 10 <= chars;
}

// Runs of base64 (standard or URL-safe alphabet) of at least 8 characters that decode to text.
void base64_segments(std::string_view s, std::vector<std::string>* out) {
  size_t i = 0;
  while (i < s.size()) {
    if (b64_value(s[i]) < 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && b64_value(s[j]) >= 0) ++j;
    if (j - i >= 8) {
      std::string bytes;
      uint32_t acc = 0;
      int bits = 0;
      for (size_t k = i; k < j; ++k) {
        acc = (acc << 6) | uint32_t(b64_value(s[k]));
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          bytes += char((acc >> bits) & 0xFF);
        }
      }
      if (looks_like_text(bytes)) out->push_back(std::move(bytes));
    }
    i = j;
  }
}

// Values of these keys are prose a person wrote: they are also read joined end to end, so that
// an address or a number split across two messages is found.
bool prose_key(std::string_view k) {
  return k == "content" || k == "text" || k == "prompt" || k == "thinking" || k == "reasoning_content" ||
         k == "arguments" || k == "system" || k == "input" || k == "description";
}

struct Scanner {
  const ScanLimits& lim;
  BodyScan out;
  std::string joined;  // prose values end to end
  size_t strings = 0;

  void fail(std::string why) {
    if (out.uninspectable.empty()) out.uninspectable = std::move(why);
  }

  void add(std::string_view raw, int depth, bool prose, int decode_depth) {
    if (!out.uninspectable.empty()) return;
    if (++strings > lim.max_strings) return fail("more than " + std::to_string(lim.max_strings) + " strings");
    if (out.text.size() + raw.size() > lim.max_text_bytes)
      return fail("more than " + std::to_string(lim.max_text_bytes) + " bytes of text");
    const std::string norm = normalize_for_pii(raw);
    out.text += norm;
    out.text += '\n';
    if (prose) joined += norm;
    // JSON inside the string (tool-call arguments, a schema passed as text): its strings too.
    size_t b = 0;
    while (b < raw.size() && (raw[b] == ' ' || raw[b] == '\n' || raw[b] == '\t' || raw[b] == '\r')) ++b;
    if (b < raw.size() && (raw[b] == '{' || raw[b] == '[' || raw[b] == '"')) {
      const std::string_view rest = raw.substr(b);
      core::JsonLimits bounds;
      bounds.max_depth = std::max(0, lim.max_depth - depth);
      bounds.max_keys_total = lim.max_strings;
      if (auto e = core::json_bounds_error(rest, bounds)) return fail(*e);
      Json nested = Json::parse(rest.begin(), rest.end(), nullptr, false);
      if (!nested.is_discarded()) walk(nested, depth + 1, prose);
    }
    if (decode_depth >= lim.max_decode_depth) return;
    std::string dec;
    if (unescape(raw, &dec)) add(dec, depth + 1, false, decode_depth + 1);
    dec.clear();
    if (percent_decode(raw, &dec)) add(dec, depth + 1, false, decode_depth + 1);
    std::vector<std::string> segs;
    base64_segments(raw, &segs);
    for (const auto& s : segs) add(s, depth + 1, false, decode_depth + 1);
  }

  void walk(const Json& j, int depth, bool prose) {
    if (!out.uninspectable.empty()) return;
    if (depth > lim.max_depth) return fail("JSON nested deeper than " + std::to_string(lim.max_depth));
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        add(it.key(), depth, false, 0);
        walk(it.value(), depth + 1, prose_key(it.key()));
      }
    } else if (j.is_array()) {
      for (const auto& v : j) walk(v, depth + 1, prose);
    } else if (j.is_string()) {
      add(j.get_ref<const std::string&>(), depth, prose, 0);
    } else if (j.is_number()) {
      add(j.dump(), depth, prose, lim.max_decode_depth);  // a phone number sent as a number
    }
  }

  BodyScan finish() {
    out.findings = find_pii(out.text);
    if (!joined.empty()) {
      const size_t base = out.text.size();
      for (auto f : find_pii(joined)) {
        f.offset += base;
        out.findings.push_back(f);
      }
      out.text += joined;
    }
    return std::move(out);
  }
};

}  // namespace

std::string normalize_for_pii(std::string_view text) {
  const std::string valid = valid_utf8(text);
  utf8proc_uint8_t* mapped = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(valid.data()), utf8proc_ssize_t(valid.size()),
                              &mapped, utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT));
  std::string nfkc = n >= 0 ? std::string(reinterpret_cast<const char*>(mapped), size_t(n)) : valid;
  std::free(mapped);
  std::string out;
  out.reserve(nfkc.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(nfkc.data());
  size_t i = 0;
  while (i < nfkc.size()) {
    int32_t cp = 0;
    const auto len = utf8proc_iterate(p + i, utf8proc_ssize_t(nfkc.size() - i), &cp);
    if (len <= 0) break;  // valid_utf8 made this unreachable
    if (is_dash(cp))
      out += '-';
    else if (!is_invisible(cp))
      out.append(nfkc, i, size_t(len));
    i += size_t(len);
  }
  return out;
}

BodyScan scan_json(const Json& body, const ScanLimits& limits) {
  Scanner s{limits, {}, {}, 0};
  s.walk(body, 0, false);
  return s.finish();
}

BodyScan scan_text(std::string_view text, const ScanLimits& limits) {
  Scanner s{limits, {}, {}, 0};
  s.add(text, 0, true, 0);
  return s.finish();
}

}  // namespace onprem::router
