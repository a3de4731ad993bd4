// Request bodies sent compressed (Content-Encoding gzip, deflate, br or zstd), decoded with a bound
// on the decoded size. cpp-httplib inflates gzip whole before it checks any size: a 1.3 MB gzip of
// 300 MB of zeros, under the 8 MiB body limit, took the server to 609 MB (and left it at 305 MB);
// an 8 MiB one would take GBs. So both servers decode bodies themselves (api/http_server.cpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace onprem::api {

enum class BodyDecode { kOk, kTooLarge, kCorrupt, kUnsupported };

// Decodes `in` per one Content-Encoding value ("gzip", "x-gzip", "deflate", "br", "zstd",
// "identity"; case-insensitive) into `out`, stopping once it would exceed max_out bytes.
BodyDecode decode_body(std::string_view encoding, std::string_view in, size_t max_out, std::string* out);

}  // namespace onprem::api
