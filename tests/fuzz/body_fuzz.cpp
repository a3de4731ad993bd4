// Fuzzes the decoding of compressed request bodies (api/body_encoding.cpp), which both servers run
// on whatever a client sends: the first byte picks the encoding, the rest is the body. Any input
// must end in a verdict within the bound: no crash, no sanitizer report, no output past the bound.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/body_encoding.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kEncodings[] = {"gzip", "deflate", "br", "zstd"};
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr size_t kBound = 1 << 20;
  std::string out;
  const auto r = onprem::api::decode_body(kEncodings[data[0] % 4], body, kBound, &out);
  if (out.size() > kBound) __builtin_trap();
  if (r != onprem::api::BodyDecode::kOk && r != onprem::api::BodyDecode::kTooLarge &&
      r != onprem::api::BodyDecode::kCorrupt)
    __builtin_trap();
  return 0;
}
