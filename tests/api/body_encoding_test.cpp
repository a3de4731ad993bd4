// Compressed request bodies: each encoding decodes to what was compressed, within the bound; a
// bomb stops at the bound (not after inflating it all); truncated or foreign data is an error.
#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <string>

#include <gtest/gtest.h>

#include "api/body_encoding.h"

namespace onprem::api {
namespace {

std::string zlib_encode(const std::string& s, int window_bits) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, uLong(s.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  z.avail_in = uInt(s.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string zstd_encode(const std::string& s) {
  std::string out(ZSTD_compressBound(s.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), s.data(), s.size(), 3));
  return out;
}

std::string brotli_encode(const std::string& s) {
  size_t n = BrotliEncoderMaxCompressedSize(s.size());
  std::string out(n, '\0');
  EXPECT_TRUE(BrotliEncoderCompress(5, 22, BROTLI_MODE_GENERIC, s.size(), reinterpret_cast<const uint8_t*>(s.data()),
                                    &n, reinterpret_cast<uint8_t*>(out.data())));
  out.resize(n);
  return out;
}

// A JSON body of some size, with varied content.
std::string sample_body(size_t n) {
  std::string s = R"({"messages":[{"role":"user","content":")";
  for (size_t i = 0; s.size() < n; ++i) s += "word" + std::to_string(i * 7919 % 1000) + " ";
  return s + "\"}]}";
}

TEST(BodyEncoding, EachEncodingRoundTrips) {
  for (size_t n : {size_t(0), size_t(100), size_t(300000)}) {
    const std::string body = n ? sample_body(n) : std::string();
    const std::pair<const char*, std::string> cases[] = {{"gzip", zlib_encode(body, 15 + 16)},
                                                         {"x-gzip", zlib_encode(body, 15 + 16)},
                                                         {"deflate", zlib_encode(body, 15)},
                                                         {"Deflate", zlib_encode(body, -15)},
                                                         {"br", brotli_encode(body)},
                                                         {"zstd", zstd_encode(body)},
                                                         {" identity ", body}};
    for (const auto& [enc, data] : cases) {
      std::string out;
      EXPECT_EQ(decode_body(enc, data, 1 << 20, &out), BodyDecode::kOk) << enc << " " << n;
      EXPECT_EQ(out, body) << enc << " " << n;
    }
  }
}

TEST(BodyEncoding, ABombStopsAtTheBound) {
  const std::string zeros(64 << 20, '\0');  // 64 MiB that compress to a few KB
  for (const auto& [enc, data] : {std::pair<const char*, std::string>{"gzip", zlib_encode(zeros, 15 + 16)},
                                  {"br", brotli_encode(zeros)},
                                  {"zstd", zstd_encode(zeros)}}) {
    ASSERT_LT(data.size(), size_t(1) << 20) << enc;
    std::string out;
    EXPECT_EQ(decode_body(enc, data, 1 << 20, &out), BodyDecode::kTooLarge) << enc;
    EXPECT_LE(out.size(), size_t(1) << 20) << enc;  // it stopped there
  }
  std::string out;
  EXPECT_EQ(decode_body("identity", std::string(100, 'x'), 99, &out), BodyDecode::kTooLarge);
}

TEST(BodyEncoding, TruncatedOrForeignDataIsAnError) {
  const std::string body = sample_body(5000);
  for (const auto& [enc, data] : {std::pair<const char*, std::string>{"gzip", zlib_encode(body, 15 + 16)},
                                  {"br", brotli_encode(body)},
                                  {"zstd", zstd_encode(body)}}) {
    std::string out;
    EXPECT_EQ(decode_body(enc, data.substr(0, data.size() / 2), 1 << 20, &out), BodyDecode::kCorrupt)
        << enc << " truncated";
    EXPECT_EQ(decode_body(enc, body, 1 << 20, &out), BodyDecode::kCorrupt) << enc << " plain text";
  }
  std::string out;
  EXPECT_EQ(decode_body("compress", "x", 100, &out), BodyDecode::kUnsupported);
  EXPECT_EQ(decode_body("gzip, br", "x", 100, &out), BodyDecode::kUnsupported);
}

}  // namespace
}  // namespace onprem::api
