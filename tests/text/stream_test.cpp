#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "gguf/file.h"
#include "text/tokenizer.h"
#include "text/unicode.h"

namespace onprem::text {
namespace {

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    const size_t n = decode_utf8(s, i, &cp);
    if (!n) return false;
    i += n;
  }
  return true;
}

TEST(StreamDecoder, PiecesConcatenateToOneShotAndNeverSplitACharacter) {
  auto f = gguf::File::open(std::string(ONPREM_SHARED_DIR) + "/conformance/models/qwen35-tiny-F32.gguf");
  ASSERT_TRUE(f.ok());
  auto tok = *Tokenizer::create(*load_vocab(*f));
  const std::vector<std::string> texts = {"日本語 中文 данные λόγος emoji🙂 → …",
                                          "안녕하세요 👨‍👩‍👧‍👦 done", "plain ascii",
                                          "<think>\nß\n</think>", ""};
  for (const auto& text : texts) {
    const auto ids = tok.encode(text, true);
    StreamDecoder sd(tok, true);
    std::string joined;
    for (int32_t id : ids) {
      const std::string piece = sd.push(id);
      EXPECT_TRUE(valid_utf8(piece)) << text;
      joined += piece;
    }
    joined += sd.flush();
    EXPECT_EQ(joined, tok.decode(ids, true));
    EXPECT_EQ(joined, text);
  }
}

// Arbitrary byte tokens, including ones that never form valid UTF-8: still concatenates exactly.
TEST(StreamDecoder, RandomTokenStreams) {
  auto f = gguf::File::open(std::string(ONPREM_SHARED_DIR) + "/conformance/models/qwen35-tiny-F32.gguf");
  ASSERT_TRUE(f.ok());
  auto tok = *Tokenizer::create(*load_vocab(*f));
  std::mt19937 rng(11);
  for (int t = 0; t < 500; ++t) {
    std::vector<int32_t> ids(rng() % 30);
    for (auto& id : ids) id = int32_t(rng() % tok.vocab().size());
    StreamDecoder sd(tok, false);
    std::string joined;
    for (int32_t id : ids) joined += sd.push(id);
    joined += sd.flush();
    EXPECT_EQ(joined, tok.decode(ids, false));
  }
}

TEST(Unicode, CompletePrefix) {
  EXPECT_EQ(utf8_complete_prefix("ab"), 2u);
  EXPECT_EQ(utf8_complete_prefix("a\xe4\xb8"), 1u);      // 3-byte sequence, 2 present
  EXPECT_EQ(utf8_complete_prefix("a\xe4\xb8\xad"), 4u);  // complete
  EXPECT_EQ(utf8_complete_prefix("\xf0\x9f\x99"), 0u);
  EXPECT_EQ(utf8_complete_prefix("\xff"), 1u);  // invalid: nothing to wait for
}

TEST(Unicode, ByteAlphabet) {
  EXPECT_EQ(byte_to_codepoint(0x20), 0x120u);
  EXPECT_EQ(byte_to_codepoint(0x0A), 0x10Au);
  EXPECT_EQ(byte_to_codepoint(0x00), 0x100u);
  EXPECT_EQ(byte_to_codepoint(0x7F), 0x121u);
  EXPECT_EQ(byte_to_codepoint(0xA0), 0x142u);
  EXPECT_EQ(byte_to_codepoint(0xAD), 0x143u);
  EXPECT_EQ(byte_to_codepoint('A'), uint32_t('A'));
  for (int b = 0; b < 256; ++b) EXPECT_EQ(codepoint_to_byte(byte_to_codepoint(uint8_t(b))), b);
}

}  // namespace
}  // namespace onprem::text

namespace onprem::text {
namespace {
TEST(Unicode, SanitizeReplacesOnlyInvalidBytes) {
  EXPECT_EQ(sanitize_utf8("ok 한국 🚀"), "ok 한국 🚀");
  EXPECT_EQ(sanitize_utf8("a\xff"
                          "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(sanitize_utf8("\xe4\xb8"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated sequence: one per byte
}
}  // namespace
}  // namespace onprem::text
