// Splits derived from the llama.cpp Qwen3.5 vectors in formats.md §5 (the number of pieces and
// their text follow from the ids listed there).
#include <gtest/gtest.h>

#include "text/pretokenize.h"

namespace onprem::text {
namespace {

std::vector<std::string> split(PreTokenizer kind, const std::string& s) {
  auto re = PreTokenizerRegex::create(kind);
  std::vector<std::string> out;
  for (auto p : re->split(s)) out.emplace_back(p);
  return out;
}

using V = std::vector<std::string>;

TEST(PreTokenizer, Qwen35Vectors) {
  const auto k = PreTokenizer::kQwen35;
  EXPECT_EQ(split(k, "Hello world"), (V{"Hello", " world"}));
  EXPECT_EQ(split(k, " Hello world"), (V{" Hello", " world"}));
  EXPECT_EQ(split(k, "Hello, world!"), (V{"Hello", ",", " world", "!"}));
  EXPECT_EQ(split(k, "   Hello"), (V{"  ", " Hello"}));
  EXPECT_EQ(split(k, "    Hello\n    Hello"), (V{"   ", " Hello", "\n", "   ", " Hello"}));
  EXPECT_EQ(split(k, "333"), (V{"3", "3", "3"}));
  EXPECT_EQ(split(k, "ied 4 \u00bd months"), (V{"ied", " ", "4", " ", "\u00bd", " months"}));
  EXPECT_EQ(split(k, "\n\n\n"), (V{"\n\n\n"}));
  EXPECT_EQ(split(k, "\t\n"), (V{"\t\n"}));
  // Marks join the letters before them in qwen35, not in qwen2.
  EXPECT_EQ(split(k, "e\u0301"), (V{"e\u0301"}));
  EXPECT_EQ(split(PreTokenizer::kQwen2, "e\u0301"), (V{"e", "\u0301"}));
  EXPECT_EQ(split(k, "C\u1eeda Vi\u1ec7t"), (V{"C\u1eeda", " Vi\u1ec7t"}));
}

TEST(PreTokenizer, ContractionsAreCaseInsensitiveButOnlyAscii) {
  const auto k = PreTokenizer::kQwen35;
  EXPECT_EQ(split(k, "don't I'LL"), (V{"don", "'t", " I", "'LL"}));
  // U+017F (long s) must not count as an "s" of the contraction.
  EXPECT_EQ(split(k, "'\u017f"), (V{"'\u017f"}));
}

TEST(PreTokenizer, InvalidUtf8BytesArePreserved) {
  const std::string s = "ab\xff\xfe cd\xc3";
  std::string joined;
  for (const auto& p : split(PreTokenizer::kQwen35, s)) joined += p;
  EXPECT_EQ(joined, s);
}

}  // namespace
}  // namespace onprem::text
