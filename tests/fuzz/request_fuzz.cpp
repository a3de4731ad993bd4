// Fuzzes what both servers and the router do with a request body before anything else: the JSON
// bounds check, the parse it guards, and the sovereignty guard's scan of every string (decoding,
// normalisation, detectors). Any input must end in a verdict: no crash, no sanitizer report, no
// unbounded time or memory.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/json_bounds.h"
#include "router/pii_scan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)onprem::router::scan_text(text);
  if (onprem::core::json_bounds_error(text)) return 0;  // refused before parsing, as the servers do
  const auto body = onprem::chat::Json::parse(text.begin(), text.end(), nullptr, false);
  if (body.is_discarded()) return 0;
  const auto scan = onprem::router::scan_json(body);
  for (const auto& f : scan.findings)
    if (f.offset + f.length > scan.text.size()) __builtin_trap();  // a finding points into what was read
  return 0;
}
