// What the sovereignty guard reads: every string of a request body, as an upstream could see it.
// Keys and values of every field (not only messages), JSON nested inside strings (tool-call
// arguments) parsed and walked too, \uXXXX escapes, percent-encoding and base64 segments decoded,
// and all of it normalised (NFKC, zero-width characters dropped, dashes unified) before the
// detectors of pii.h run. A body it cannot read to the end is reported as uninspectable, and the
// router keeps such a request on premises.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "chat/pyjson.h"
#include "router/pii.h"

namespace onprem::router {

struct ScanLimits {
  int max_depth = 64;                        // JSON nesting, counting JSON inside strings
  size_t max_strings = 200000;               // keys and values
  size_t max_text_bytes = size_t(32) << 20;  // decoded text read in all
  int max_decode_depth = 3;                  // base64 inside base64 inside ...
};

struct BodyScan {
  std::vector<PiiFinding> findings;  // offsets are into `text`
  std::string text;                  // what was read, normalised, one string per line
  std::string uninspectable;         // empty, or why the scan could not read everything
};

// Unicode NFKC, zero-width and other invisible format characters removed, every dash and minus
// sign as '-'. Invalid UTF-8 bytes become U+FFFD.
std::string normalize_for_pii(std::string_view text);

// Every string of `body` (keys and values), in document order, decoded and normalised, then the
// detectors over the whole text (so an address split across two messages is still one address).
BodyScan scan_json(const chat::Json& body, const ScanLimits& limits = {});
// The same for free text (a header value, a decoded segment).
BodyScan scan_text(std::string_view text, const ScanLimits& limits = {});

}  // namespace onprem::router
