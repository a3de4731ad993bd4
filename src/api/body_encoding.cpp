#include "api/body_encoding.h"

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace onprem::api {
namespace {

constexpr size_t kChunk = 64 << 10;

// zlib: windowBits 15 + 16 reads a gzip stream, 15 a zlib one, -15 raw deflate.
BodyDecode inflate_with(int window_bits, std::string_view in, size_t max_out, std::string* out) {
  z_stream z{};
  if (inflateInit2(&z, window_bits) != Z_OK) return BodyDecode::kCorrupt;
  std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&z, inflateEnd);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = uInt(in.size());
  char buf[kChunk];
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    const int rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) return BodyDecode::kCorrupt;
    const size_t n = sizeof buf - z.avail_out;
    if (out->size() + n > max_out) return BodyDecode::kTooLarge;
    out->append(buf, n);
    if (rc == Z_STREAM_END) return z.avail_in == 0 ? BodyDecode::kOk : BodyDecode::kCorrupt;
    if (rc == Z_BUF_ERROR || (n == 0 && z.avail_in == 0)) return BodyDecode::kCorrupt;  // truncated
  }
}

BodyDecode unbrotli(std::string_view in, size_t max_out, std::string* out) {
  std::unique_ptr<BrotliDecoderState, decltype(&BrotliDecoderDestroyInstance)> s(
      BrotliDecoderCreateInstance(nullptr, nullptr, nullptr), BrotliDecoderDestroyInstance);
  if (!s) return BodyDecode::kCorrupt;
  size_t avail_in = in.size();
  const uint8_t* next_in = reinterpret_cast<const uint8_t*>(in.data());
  uint8_t buf[kChunk];
  for (;;) {
    size_t avail_out = sizeof buf;
    uint8_t* next_out = buf;
    const BrotliDecoderResult rc =
        BrotliDecoderDecompressStream(s.get(), &avail_in, &next_in, &avail_out, &next_out, nullptr);
    const size_t n = sizeof buf - avail_out;
    if (out->size() + n > max_out) return BodyDecode::kTooLarge;
    out->append(reinterpret_cast<const char*>(buf), n);
    if (rc == BROTLI_DECODER_RESULT_SUCCESS) return avail_in == 0 ? BodyDecode::kOk : BodyDecode::kCorrupt;
    if (rc == BROTLI_DECODER_RESULT_ERROR || rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) return BodyDecode::kCorrupt;
  }
}

BodyDecode unzstd(std::string_view in, size_t max_out, std::string* out) {
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> d(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!d) return BodyDecode::kCorrupt;
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  char buf[kChunk];
  size_t last = 1;
  while (src.pos < src.size || last != 0) {
    ZSTD_outBuffer dst{buf, sizeof buf, 0};
    last = ZSTD_decompressStream(d.get(), &dst, &src);
    if (ZSTD_isError(last)) return BodyDecode::kCorrupt;
    if (out->size() + dst.pos > max_out) return BodyDecode::kTooLarge;
    out->append(buf, dst.pos);
    if (src.pos == src.size && dst.pos < dst.size && last != 0) return BodyDecode::kCorrupt;  // truncated frame
  }
  return BodyDecode::kOk;
}

}  // namespace

BodyDecode decode_body(std::string_view encoding, std::string_view in, size_t max_out, std::string* out) {
  std::string e(encoding);
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  e.erase(0, e.find_first_not_of(" \t"));
  e.erase(e.find_last_not_of(" \t") + 1);
  out->clear();
  if (e.empty() || e == "identity") {
    if (in.size() > max_out) return BodyDecode::kTooLarge;
    out->assign(in);
    return BodyDecode::kOk;
  }
  if (e == "gzip" || e == "x-gzip") return inflate_with(15 + 16, in, max_out, out);
  if (e == "deflate") {  // RFC 9110 says zlib-wrapped; some clients send it raw
    const BodyDecode r = inflate_with(15, in, max_out, out);
    if (r != BodyDecode::kCorrupt) return r;
    out->clear();
    return inflate_with(-15, in, max_out, out);
  }
  if (e == "br") return unbrotli(in, max_out, out);
  if (e == "zstd") return unzstd(in, max_out, out);
  return BodyDecode::kUnsupported;
}

}  // namespace onprem::api
